"""Release policies as code: pure, no I/O.

``document`` is the input every policy reads (the run, its artifacts with declared
flags and verified evidence facts, its upstream runs, the instant judged) and its
canonical digest; ``facts`` derives an artifact's evidence facts from its stored
evidence; ``builtins`` holds the built-in rules; ``engine`` turns a policy version and
a document into a verdict (severity, ``effective_on``, waivers); ``rego`` evaluates a
Rego module in a sandboxed worker process (``rego_worker``). The server, the CLI
and an offline verifier call the same functions.
"""
