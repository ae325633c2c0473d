"""Symbolic derivatives: the node-building algebra (`builder`), canonical forms and the
simplifier (`simplify`), derivatives of any order, gradients, Hessians, Jacobians (`calculus`).
"""
