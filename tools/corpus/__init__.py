"""The bottom floor of the parts: what a corpus is made of (documents, chunks, their keys, ids
and names, the metadata a chunk may carry) and the passage record every stage passes on. It
imports only `tools/text`, so ingestion, the knowledge base and every later stage can import
it."""
