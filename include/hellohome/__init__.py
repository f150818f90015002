"""HelloHome: the domain library every deployable (consumers, serving, DAGs) imports."""
__version__ = "0.1.0"
