"""Run steps as AWS Batch jobs: ``from plugins.batch import batch``.

``@batch(cpu=4, memory=16000, queue="ml-queue")`` above ``@step`` runs that step on AWS Batch;
``python flow.py run --with batch`` runs every step there. The executor is registered through the
``flowkit.plugins`` entry points (``step.batch``, ``executor.batch``) and needs
``pip install 'flowkit[aws]'``; this package itself imports nothing from AWS, so a flow using
``@batch`` can still be checked and shown without it.
"""

from plugins.batch.decorator import BatchDecorator, batch

__all__ = ["BatchDecorator", "batch"]
