/* A robot-style host application that embeds engram through its C API.
 *
 * A 100 Hz control loop stands in for a robot: every tick it reads a (synthetic) camera frame
 * with its label, hands it to engram_observe, and asks engram_predict to classify a fresh
 * frame. engram learns on its own threads. Halfway through, the robot meets a new task (two
 * new classes); engram keeps the first task through recollections. The loop measures each
 * call and prints p50/p99/max latency, the running accuracy and engram's counters.
 *
 *   host_app [--hz 100] [--seconds 20] [--config FILE.json|FILE.lua] [--snapshot FILE]
 *            [--min-accuracy A]
 *
 * Exit status: 0 on success; 1 on an engram error; 2 on bad arguments; 3 when the accuracy
 * over both tasks in the last second is below --min-accuracy. */
#define _POSIX_C_SOURCE 200809L
#include <engram.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIDE 28
#define PIXELS (SIDE * SIDE)

static const char* kDefaultConfig =
    "{\"name\": \"host-app-camera\", \"classes\": 4, \"tasks\": 2,"
    " \"learning\": {\"batch\": 16, \"replay\": 16, \"queue\": 256}}";

/* A synthetic camera frame of class k (0..3): a bright square in quadrant k on noise. */
static void camera_frame(int k, uint8_t* px, unsigned* seed) {
  for (int i = 0; i < PIXELS; ++i) px[i] = (uint8_t)(rand_r(seed) % 70);
  const int r0 = 3 + (k / 2) * 14, c0 = 3 + (k % 2) * 14;
  for (int r = r0; r < r0 + 7; ++r)
    for (int c = c0; c < c0 + 7; ++c) px[r * SIDE + c] = 255;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* Prints p50/p99/max of n latencies in seconds (sorts them). */
static void print_latency(const char* name, double* v, size_t n) {
  if (n == 0) {
    printf("%-15s no calls\n", name);
    return;
  }
  qsort(v, n, sizeof *v, compare_doubles);
  printf("%-15s %7zu calls  p50 %8.1f us  p99 %8.1f us  max %8.1f us\n", name, n, 1e6 * v[n / 2],
         1e6 * v[(size_t)(0.99 * (double)(n - 1))], 1e6 * v[n - 1]);
}

static int fail(const char* what) {
  fprintf(stderr, "host_app: %s: %s\n", what, engram_last_error());
  return 1;
}

int main(int argc, char** argv) {
  double hz = 100, seconds = 20, min_accuracy = -1;
  const char* config = NULL;
  const char* snapshot = NULL;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v && strcmp(a, "--hz") == 0)
      hz = atof(v), ++i;
    else if (v && strcmp(a, "--seconds") == 0)
      seconds = atof(v), ++i;
    else if (v && strcmp(a, "--config") == 0)
      config = v, ++i;
    else if (v && strcmp(a, "--snapshot") == 0)
      snapshot = v, ++i;
    else if (v && strcmp(a, "--min-accuracy") == 0)
      min_accuracy = atof(v), ++i;
    else {
      fprintf(stderr,
              "usage: %s [--hz N] [--seconds S] [--config FILE] [--snapshot FILE]"
              " [--min-accuracy A]\n",
              argv[0]);
      return 2;
    }
  }
  if (!(hz > 0 && hz <= 100000 && seconds > 0 && seconds <= 86400)) {
    fprintf(stderr, "host_app: --hz must be in (0, 100000] and --seconds in (0, 86400]\n");
    return 2;
  }

  engram_t* e = NULL;
  if ((config ? engram_open_file(config, &e) : engram_open_json(kDefaultConfig, &e)) != ENGRAM_OK)
    return fail("open");
  printf("engram %s embedded; %.0f Hz control loop for %.0f s\n", engram_version(), hz, seconds);

  const size_t ticks = (size_t)(hz * seconds);
  double* observe_lat = malloc(ticks * sizeof(double));
  double* predict_lat = malloc(ticks * sizeof(double));
  if (!observe_lat || !predict_lat) return 1;
  size_t n_observe = 0, n_predict = 0, full = 0;
  unsigned seed = 12345;
  uint8_t frame[PIXELS], probe[PIXELS];
  int right = 0, asked = 0, status = 0;
  double window_accuracy = 0;
  const double period = 1.0 / hz, start = now_s();
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);

  for (size_t tick = 0; tick < ticks; ++tick) {
    const int task = tick < ticks / 2 ? 0 : 1;
    /* Sense: this tick's labelled frame, from the current task. */
    const int label = 2 * task + (int)(rand_r(&seed) % 2);
    camera_frame(label, frame, &seed);
    engram_input x = {frame, PIXELS, ENGRAM_U8};
    double t0 = now_s();
    int rc = engram_observe(e, &x, label, task);
    observe_lat[n_observe++] = now_s() - t0;
    if (rc == ENGRAM_FULL)
      ++full; /* a real robot would drop the frame, as here */
    else if (rc != ENGRAM_OK) {
      status = fail("observe");
      break;
    }

    /* Act: classify a fresh frame of any class seen so far. */
    const int truth = (int)(rand_r(&seed) % (unsigned)(2 * (task + 1)));
    camera_frame(truth, probe, &seed);
    engram_input q = {probe, PIXELS, ENGRAM_U8};
    int32_t guess = -1;
    t0 = now_s();
    rc = engram_predict(e, &q, &guess, NULL, 0);
    const double dt = now_s() - t0;
    if (rc == ENGRAM_OK) {
      predict_lat[n_predict++] = dt;
      right += guess == truth;
      ++asked;
    } else if (rc != ENGRAM_NOT_READY) {
      status = fail("predict");
      break;
    }

    /* Once a second: progress. */
    if ((tick + 1) % (size_t)(hz > 1 ? hz : 1) == 0) {
      engram_counters c;
      if (engram_get_counters(e, &c, sizeof c) != ENGRAM_OK) {
        status = fail("counters");
        break;
      }
      window_accuracy = asked ? (double)right / asked : 0;
      printf(
          "t=%5.1f s  task %d  observed %6llu  learned %6llu  queued %4llu  "
          "accuracy (last second, all classes so far) %.3f\n",
          now_s() - start, task, (unsigned long long)c.observed, (unsigned long long)c.learned,
          (unsigned long long)c.queued, window_accuracy);
      fflush(stdout);
      right = asked = 0;
    }

    /* Wait for the next tick (absolute time: no drift). */
    next.tv_nsec += (long)(period * 1e9);
    while (next.tv_nsec >= 1000000000L) next.tv_nsec -= 1000000000L, ++next.tv_sec;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }

  if (status == 0) {
    printf("\nper-call latency on the control thread while engram learns:\n");
    print_latency("engram_observe", observe_lat, n_observe);
    print_latency("engram_predict", predict_lat, n_predict);
    engram_counters c;
    if (engram_get_counters(e, &c, sizeof c) != ENGRAM_OK)
      status = fail("counters");
    else
      printf(
          "observed %llu, refused while full %llu, learned %llu in %llu steps, "
          "model updates %llu\n",
          (unsigned long long)c.observed, (unsigned long long)c.rejected_full,
          (unsigned long long)c.learned, (unsigned long long)c.batches,
          (unsigned long long)c.model_updates);
  }
  if (status == 0 && snapshot) {
    if (engram_snapshot(e, snapshot) != ENGRAM_OK)
      status = fail("snapshot");
    else
      printf("snapshot written to %s\n", snapshot);
  }
  if (status == 0 && min_accuracy >= 0 && window_accuracy < min_accuracy) {
    fprintf(stderr, "host_app: accuracy %.3f in the last second is below %.3f\n", window_accuracy,
            min_accuracy);
    status = 3;
  }
  engram_close(e);
  free(observe_lat);
  free(predict_lat);
  return status;
}
