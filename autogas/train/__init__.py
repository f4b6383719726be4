"""Retraining of searched generators as CycleGANs, and their FID/KID evaluation.

``CycleGanTrainer`` (:mod:`autogas.train.trainer`) trains ``G_A, G_B, D_A, D_B`` on an
unpaired dataset (:mod:`autogas.train.data`); :func:`autogas.train.evaluate.evaluate_run`
translates the test folders and scores them (:mod:`autogas.train.metrics`).
"""
