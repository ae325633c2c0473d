"""Passes over the node list: forward values (`evaluate`), the one reverse and one forward
loop (`loops`) run over floats (`algebras`, `autodiff`) or NumPy rows (`vector`).
"""
