"""LE and LEPORID initialisers (graph + spectral); filled in by the embedding engine."""
