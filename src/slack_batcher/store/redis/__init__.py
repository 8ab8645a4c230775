"""The Redis store: batches shared by several service instances on several hosts."""
