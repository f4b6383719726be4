"""Step 3: budgets, the generator scorer, genetic architecture search, the CycleGAN four-network search, ranking."""
