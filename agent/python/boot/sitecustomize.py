"""sitecustomize.py: put on PYTHONPATH by the layerscope adapter (launch, `layerscope
watch`) so that every Python process the program starts (mp.spawn ranks, launchers, the
program itself) loads the agent: layerscope_agent._boot() hooks torch when it is imported,
if LAYERSCOPE_AGENT_CONNECT is set. The sitecustomize that this one shadows (Debian ships
one) is run first, as Python would have run it."""
import os
import sys


def _chain():
    here = os.path.dirname(os.path.abspath(__file__))
    for p in sys.path:
        try:
            if os.path.abspath(p or ".") == here:
                continue
        except Exception:
            continue
        cand = os.path.join(p or ".", "sitecustomize.py")
        if os.path.isfile(cand):
            import importlib.util
            spec = importlib.util.spec_from_file_location("_layerscope_chained_sitecustomize", cand)
            mod = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(mod)
            except Exception as e:
                sys.stderr.write("layerscope: %s failed: %s\n" % (cand, e))
            return


_chain()
try:
    import layerscope_agent
    layerscope_agent._boot()
except Exception as e:  # never break the user's program
    sys.stderr.write("layerscope agent: not loaded: %s\n" % e)
