"""Run steps as AWS Batch jobs: ``from flowkit import batch``.

``@batch(cpu=4, memory=16000, queue="ml-queue")`` above ``@step`` runs that step on AWS Batch;
``python flow.py run --with batch`` runs every step there. The executor is registered through the
``flowkit.plugins`` entry points (``step.batch``, ``executor.batch``, ``settings.batch``) and needs
``pip install 'flowkit[aws]'``; this package itself imports nothing from AWS, so a flow using
``@batch`` can still be checked and shown without it.

The package installs as ``flowkit_batch`` (``from flowkit_batch import batch`` works too); it
imports nothing from flowkit but :mod:`flowkit.extend`.
"""

from flowkit_batch.decorator import BatchDecorator, batch
from flowkit_batch.settings import SETTINGS, BatchSettings

__all__ = ["SETTINGS", "BatchDecorator", "BatchSettings", "batch"]
