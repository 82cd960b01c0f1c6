"""The benchmarks under bench/, run as real processes so that they cannot rot unseen."""
