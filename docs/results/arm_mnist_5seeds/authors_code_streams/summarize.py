# A_T, F_T (test, t = max_t, as print_results) mean +- sample std, and per-task final-row test accs
import os, pickle, sys, numpy as np
roots = {"original": "/tmp/armref-runs", "engram-like": "/tmp/armdiag-runs/engramstream",
         "balanced-no-tail": "/tmp/armdiag-runs/balanced"}
start = {"distill": 6102, "arm": 6579}
print("method,stream,n,A_T_mean,A_T_sd,F_T_mean,F_T_sd,task0,task1,task2,task3,task4,per_seed_A_T")
for meth in ["arm", "distill"]:
    for name, root in roots.items():
        a, f, pt, ps = [], [], [], []
        for m in range(start[meth], start[meth] + 5):
            p = os.path.join(root, meth, str(m), "config.pickle")
            if not os.path.exists(p): continue
            c = pickle.load(open(p, "rb"))
            if c.max_t not in c.test_accs: continue
            a.append(100 * c.test_accs[c.max_t]); f.append(100 * c.test_forgetting[c.max_t])
            d = c.test_per_task_accs[c.max_t]; pt.append([100 * d[k] for k in range(5)])
        if not a: continue
        a, f, pt = np.array(a), np.array(f), np.array(pt).mean(0)
        sd = lambda x: x.std(ddof=1) if len(x) > 1 else float("nan")
        print("%s,%s,%d,%.1f,%.1f,%.1f,%.1f,%s,%s" % (meth, name, len(a), a.mean(), sd(a), f.mean(), sd(f),
              ",".join("%.1f" % v for v in pt), " ".join("%.1f" % v for v in a)))
