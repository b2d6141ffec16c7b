"""What the service keeps beside the knowledge base, in one database: conversation checkpoints,
answers and their feedback, the audit log."""
