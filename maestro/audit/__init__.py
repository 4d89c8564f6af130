"""The audit log's pure core: RFC 6962 Merkle trees and C2SP signed checkpoints.

Nothing here touches a database or the network, so the server and an offline
verifier run the same code (import-linter keeps it so)."""
