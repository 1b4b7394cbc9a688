"""A frozen copy of the judge as it was before issue 13's one-engine rewrite (a test oracle).

``judge.py`` is ``importspy_hook/_check.py`` at 9372d80, with the pieces the rewrite moves or merges
(``values_equal``, the packaging-based version rules) copied in, so that whatever happens to the
package, this copy keeps saying what the rules meant. ``tests/test_engine_oracle.py`` runs the
contract generators and the contract corpora through both and demands the same verdicts, violation
texts and lines. Remove it once the new evaluator has replaced the judge and agrees everywhere.
"""
