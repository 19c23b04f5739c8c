"""Shipped example training recipes (``def train(dataset, parameters) -> RecipeResult``).

A recipe is the data scientists' own code: Edgeloop calls it in a child process with a
:class:`~edgeloop.domain.recipes.TrainingDataset` and the manifest's parameters, and it
returns an ONNX model with its manifest fields (edgeloop.domain.recipes). ``ai4i_failure``
is the demo's failure classifier (binary), ``ai4i_failure_mode`` its failure mode
(multiclass), ``tool_life`` a cutting tool's life (regression, generated data).
"""
