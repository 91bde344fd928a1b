"""Speed and memory benchmarks of the facemask pipeline, side by side with the naive baseline."""
