"""...and another teammate uses the result, from any machine that sees the same bucket.

FLOWKIT_DATASTORE_ROOT=s3://team-bucket/flowkit python tutorials/06-s3/use_model.py
"""

from flowkit import Flow

run = Flow("SharedTrainFlow").latest_successful_run
model = run.data.model
print(f"using {run.pathspec} by {run.user}: y = {model['slope']}x + {model['intercept']}")
print(f"prediction for x=10: {model['slope'] * 10 + model['intercept']:.1f}")
