"""Training the demo model (AI4I 2020 machine failure) and writing model bundles.

Needs the ``train`` extra (scikit-learn, skl2onnx, onnx); the edge runtime never imports this package.
"""
