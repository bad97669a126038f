"""Cross-layer helpers, one home each, below every layer: device names (:mod:`.device`),
scipy -> torch sparse tensors (:mod:`.sparse`) and JSON adapters (:mod:`.jsonio`).

Nothing here imports a ``leporid`` layer, and torch is imported inside functions only, so
importing a helper never pulls torch in.
"""
