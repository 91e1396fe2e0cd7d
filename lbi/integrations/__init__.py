"""Ways for agents built on other stacks to use lbi: an MCP server and agent-framework adapters."""
