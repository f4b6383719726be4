"""Search -> train -> evaluate in one call (:func:`autogas.pipeline.run.run_pipeline`)."""
