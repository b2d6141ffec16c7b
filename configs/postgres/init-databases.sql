-- Runs once, when the compose postgres volume is first created: the API's conversation memory
-- lives in POSTGRES_DB (vinarag); Langfuse gets a database of its own on the same server.
CREATE DATABASE langfuse;
