"""sls-audit: a static policy and security analyzer for Serverless Framework projects."""
__version__ = "0.1.0"
