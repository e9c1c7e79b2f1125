# stream check (no training): per-task class counts and final single-class run, and that the
# val/test sets and the global torch RNG state after data loading equal the unpatched code's
import sys, types, importlib, torch
root, data = sys.argv[1], sys.argv[2]
sys.path.insert(0, root)
from code.util.general import reproc_settings
from code.util.load import get_model_and_data
for m in [int(a) for a in sys.argv[3:]]:
    c = types.SimpleNamespace(model_ind=m, specific_torch_seed=False, data="mnist5k", task_model_type="mlp",
        data_path=data, stationary=False, num_iterations=1, classes_per_task=2, tasks_train_batch_sz=10,
        tasks_eval_batch_sz=10, store_model_freq=500, cuda=False)
    reproc_settings(c)
    _, tr, te, va = get_model_and_data(c)
    y = [int(v) for v in tr.dataset.targets]
    out = []
    for k in range(5):
        b = y[1000*k:1000*(k+1)]; n = 0
        while n < len(b) and b[-1-n] == b[-1]: n += 1
        cls = sorted(set(b)); out.append("%s tail %dx%d" % ("/".join(str(b.count(q)) for q in cls), b[-1], n))
    vh = hash(tuple(int(v) for v in va.dataset.targets)) ^ hash(float(torch.stack([x.float().sum() for x in va.dataset.data]).sum()))
    print("model %d len %d: %s | val %d hash %x | rng %.6f" % (m, len(y), "; ".join(out), len(va.dataset), vh & 0xffffffff, torch.rand(1).item()))
