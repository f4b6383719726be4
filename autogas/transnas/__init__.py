"""TransNAS-Bench-101 autoencoder task: arch strings, ground truth, networks and exact counts."""
