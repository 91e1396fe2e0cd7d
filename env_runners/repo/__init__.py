"""The `repo` environment: a code base checked out in a sandboxed shell, with view/search/replace/test tools."""
