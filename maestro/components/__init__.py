"""The component index: which runs' SBOMs hold a package, and how two runs' SBOMs differ."""
