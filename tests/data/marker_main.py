"""A stand-in for an app script: a pool worker that imports it as its main module leaves a mark."""

MARK = "this script ran as a main module"
