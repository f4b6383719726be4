"""The one measurement protocol: init seeds, input batches, feature hooks, device resolution."""
