"""test_special_files.py: paths that name something other than a regular file, or lead out
of a checkpoint directory, through the CLI.

1. A FIFO never blocks a command: a shard of model.safetensors.index.json that is a FIFO,
   a FIFO given as the tensor file (safetensors, GGUF and .npy names: the format is only
   known after reading), as the config of `summary` and `run`, and as a file of `check`.
   Each command runs with a timeout (nothing ever writes to the FIFO, so a blocking open
   would hang) and must exit non-zero naming the path and saying it is a FIFO.
2. A shard that is a symbolic link resolving outside the checkpoint directory is refused
   as a "../" name is; a link to a file inside the directory still works, and so does the
   Hugging Face cache layout (snapshots/<rev>/ whose index and shards all link to
   ../../blobs/<hash>).
The checkpoint files are written here with the minimal safetensors writer of
tests/numeric."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "numeric"))
import lib_tensorgen as tg  # noqa: E402

LS = os.environ.get("LAYERSCOPE", "layerscope")
FAILS = []
TIMEOUT = 20


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def ls(*args):
    """Runs the binary; a hang is a failure (reported as exit status None)."""
    try:
        p = subprocess.run([LS, *args], capture_output=True, text=True, timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %d s" % TIMEOUT


def write_index(d, weight_map):
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)


def shard(path, name, seed):
    w = np.random.default_rng(seed).standard_normal((4, 8)).astype(np.float32)
    tg.write_safetensors(path, [(name, "F32", [4, 8], w.tobytes())])


def test_fifos(root):
    d = os.path.join(root, "fifo-ckpt")
    os.mkdir(d)
    shard(os.path.join(d, "model-00001-of-00002.safetensors"), "a.weight", 1)
    os.mkfifo(os.path.join(d, "model-00002-of-00002.safetensors"))
    write_index(d, {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"})
    for target in (d, os.path.join(d, "model.safetensors.index.json")):
        rc, out, err = ls("stats", target)
        check(rc is not None, "stats %s: hangs on a FIFO shard (%s)" % (target, err))
        check(rc not in (None, 0) and "model-00002-of-00002.safetensors" in err and "FIFO" in err,
              "stats %s: exit %s, want an error naming the FIFO shard: %s" % (target, rc, err.strip()))
    for name in ("w.safetensors", "w.gguf", "w.npy", "model.safetensors.index.json"):
        fifo = os.path.join(root, "direct-" + name)
        os.mkfifo(fifo)
        rc, out, err = ls("stats", fifo)
        check(rc not in (None, 0) and "FIFO" in err, "stats on a FIFO named %s: exit %s: %s" % (name, rc, err.strip()))
    cfg = os.path.join(root, "config.json")
    os.mkfifo(cfg)
    for argv in (["summary", cfg], ["run", cfg, "--random-tokens", "2"], ["check", cfg]):
        rc, out, err = ls(*argv)
        check(rc not in (None, 0) and "FIFO" in err, "%s on a FIFO config: exit %s: %s" % (argv[0], rc, err.strip()))


def test_links(root):
    outside = os.path.join(root, "outside")
    os.mkdir(outside)
    shard(os.path.join(outside, "stolen.safetensors"), "b.weight", 2)
    d = os.path.join(root, "link-ckpt")
    os.mkdir(d)
    shard(os.path.join(d, "model-00001-of-00002.safetensors"), "a.weight", 1)
    os.symlink(os.path.join("..", "outside", "stolen.safetensors"), os.path.join(d, "model-00002-of-00002.safetensors"))
    write_index(d, {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"})
    rc, out, err = ls("stats", d)
    check(rc not in (None, 0) and "outside the checkpoint directory" in err and "model-00002-of-00002" in err,
          "a shard linking outside the directory: exit %s: %s" % (rc, err.strip()))
    check("b.weight" not in out, "a shard linking outside the directory was read: %s" % out)
    # An absolute link out is refused the same way.
    os.unlink(os.path.join(d, "model-00002-of-00002.safetensors"))
    os.symlink(os.path.join(outside, "stolen.safetensors"), os.path.join(d, "model-00002-of-00002.safetensors"))
    rc, out, err = ls("stats", d)
    check(rc not in (None, 0) and "outside the checkpoint directory" in err, "absolute link out: exit %s: %s" % (rc, err.strip()))
    # A link that stays inside (into a sub-folder of the checkpoint) is fine.
    os.unlink(os.path.join(d, "model-00002-of-00002.safetensors"))
    os.mkdir(os.path.join(d, "parts"))
    shard(os.path.join(d, "parts", "b.safetensors"), "b.weight", 2)
    os.symlink(os.path.join("parts", "b.safetensors"), os.path.join(d, "model-00002-of-00002.safetensors"))
    rc, out, err = ls("stats", d, "--format", "json")
    names = sorted(t["name"] for t in json.loads(out)["tensors"]) if rc == 0 else []
    check(rc == 0 and names == ["a.weight", "b.weight"], "a link inside the directory: exit %s: %s %s" % (rc, names, err.strip()))
    # The Hugging Face cache: every file of the snapshot links to ../../blobs/<hash>.
    repo = os.path.join(root, "models--org--tiny")
    blobs, snap = os.path.join(repo, "blobs"), os.path.join(repo, "snapshots", "abc123")
    os.makedirs(blobs)
    os.makedirs(snap)
    shard(os.path.join(blobs, "1111"), "a.weight", 1)
    shard(os.path.join(blobs, "2222"), "b.weight", 2)
    write_index(blobs, {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"})
    os.rename(os.path.join(blobs, "model.safetensors.index.json"), os.path.join(blobs, "3333"))
    for name, blob in (("model-00001-of-00002.safetensors", "1111"), ("model-00002-of-00002.safetensors", "2222"),
                       ("model.safetensors.index.json", "3333")):
        os.symlink(os.path.join("..", "..", "blobs", blob), os.path.join(snap, name))
    rc, out, err = ls("stats", snap, "--format", "json")
    names = sorted(t["name"] for t in json.loads(out)["tensors"]) if rc == 0 else []
    check(rc == 0 and names == ["a.weight", "b.weight"], "Hugging Face cache snapshot: exit %s: %s %s" % (rc, names, err.strip()))


def main():
    with tempfile.TemporaryDirectory() as root:
        test_fifos(root)
        test_links(root)
    if FAILS:
        print("%d failures" % len(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
