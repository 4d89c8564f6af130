"""Release policies: built-in rules, Rego modules, evaluation."""
