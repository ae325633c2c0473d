"""The core: the op table (`ops`), nodes and the hash-consing builder (`graph`), the errors.

Imports nothing of exprgraph above it (an import-linter contract).
"""
