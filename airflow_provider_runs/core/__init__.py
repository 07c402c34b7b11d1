"""Service-agnostic building blocks: normalized run states, the error tree and HTTP transport."""
