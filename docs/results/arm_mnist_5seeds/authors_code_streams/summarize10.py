# as summarize.py, over model indices start .. start+9 (first 5: the brief's runs; next 5: run_extra.sh)
import os, pickle, numpy as np
roots = {"original": ["/tmp/armref-runs", "/tmp/armdiag-runs/original"],
         "engram-like": ["/tmp/armdiag-runs/engramstream"] * 2, "balanced-no-tail": ["/tmp/armdiag-runs/balanced"] * 2}
start = {"distill": 6102, "arm": 6579}
print("method,stream,n,A_T_mean,A_T_sd,F_T_mean,F_T_sd,task0,task1,task2,task3,task4")
for meth in ["arm", "distill"]:
    for name, rr in roots.items():
        a, f, pt = [], [], []
        for j in range(10):
            p = os.path.join(rr[j // 5], meth, str(start[meth] + j), "config.pickle")
            if not os.path.exists(p): continue
            c = pickle.load(open(p, "rb"))
            if c.max_t not in c.test_accs: continue
            a.append(100 * c.test_accs[c.max_t]); f.append(100 * c.test_forgetting[c.max_t])
            d = c.test_per_task_accs[c.max_t]; pt.append([100 * d[k] for k in range(5)])
        if not a: continue
        a, f, pt = np.array(a), np.array(f), np.array(pt).mean(0)
        print("%s,%s,%d,%.1f,%.1f,%.1f,%.1f,%s" % (meth, name, len(a), a.mean(), a.std(ddof=1), f.mean(), f.std(ddof=1),
              ",".join("%.1f" % v for v in pt)))
