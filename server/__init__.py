"""The FastAPI / LangServe server (roadmap: REST, playground, metrics, tracing, auth)."""
