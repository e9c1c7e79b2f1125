/* engram C API: embed a continual learner in a host application (robot controller, game loop,
 * sensor node). The host hands engram labelled observations and asks it for predictions from
 * its own thread; engram learns on its own threads, mixing new observations with
 * recollections of earlier tasks so that it does not forget them.
 *
 *   engram_t* e = NULL;
 *   if (engram_open_json("{\"input\": {\"rows\": 28, \"cols\": 28}, \"classes\": 10}", &e))
 *     fprintf(stderr, "%s\n", engram_last_error());
 *   engram_input x = {pixels, 784, ENGRAM_U8};
 *   engram_observe(e, &x, label, task);            // never waits; ENGRAM_FULL if the queue is
 *   int32_t guess; engram_predict(e, &x, &guess, NULL, 0);  //  full
 *   engram_snapshot(e, "robot.engram");
 *   engram_close(e);
 *
 * Conventions: every function returns ENGRAM_OK (0), a positive status (ENGRAM_FULL,
 * ENGRAM_NOT_READY) or a negative error; on anything but ENGRAM_OK, engram_last_error() says
 * what happened. Null handles and bad arguments are errors, never crashes. No C++ type or
 * exception crosses this header. All functions may be called from any thread; one handle may
 * be used by several threads at once. The configuration format is in the README ("Embedding
 * engram in a C program"). Link with `pkg-config --cflags --libs engram` or CMake's
 * `find_package(engram)` and the target `engram::engram`. */
#ifndef ENGRAM_H
#define ENGRAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ENGRAM_API __attribute__((visibility("default")))
#else
#define ENGRAM_API
#endif

/* Status codes. */
#define ENGRAM_OK 0
#define ENGRAM_FULL 1      /* engram_observe: the queue is full; the observation was not taken */
#define ENGRAM_NOT_READY 2 /* engram_predict: nothing has been learned yet */
#define ENGRAM_E_INVALID_ARGUMENT (-1) /* null handle or pointer, wrong size, out of range */
#define ENGRAM_E_MALFORMED (-2)        /* bad configuration text, damaged snapshot file */
#define ENGRAM_E_UNSUPPORTED (-3)      /* newer snapshot format, unavailable device */
#define ENGRAM_E_IO (-4)               /* a file could not be read or written */
#define ENGRAM_E_NOT_FOUND (-5)        /* a file or named thing does not exist */
#define ENGRAM_E_TIMEOUT (-6)          /* engram_flush ran out of time */
#define ENGRAM_E_SCRIPT (-7)           /* the Lua configuration script failed */
#define ENGRAM_E_CLOSED (-8)           /* learning stopped after a failure (see the message) */
#define ENGRAM_E_INTERNAL (-9)         /* a bug: please report it with the message */

/* Pixel encodings of an input. */
#define ENGRAM_U8 0  /* uint8_t values 0..255 */
#define ENGRAM_F32 1 /* float values, finite and in [0, 1]; others are refused and counted */

typedef struct engram_handle engram_t; /* an opaque learner */

/* One input: rows*cols values, row-major, of one channel. */
typedef struct engram_input {
  const void* data;
  size_t size;      /* number of values: must equal rows*cols of the configuration */
  int32_t encoding; /* ENGRAM_U8 or ENGRAM_F32 */
} engram_input;

/* What engram has done so far (engram_get_counters). Fields are only ever added at the end:
 * a program built against an older engram.h passes its smaller sizeof and gets the fields it
 * knows. */
typedef struct engram_counters {
  uint64_t observed;         /* observations accepted by engram_observe */
  uint64_t rejected_full;    /* engram_observe calls that returned ENGRAM_FULL */
  uint64_t rejected_invalid; /* engram_observe calls refused for a bad argument */
  uint64_t learned;          /* observations trained on */
  uint64_t batches;          /* training steps */
  uint64_t predictions;      /* engram_predict calls answered */
  uint64_t queued;           /* observations waiting to be learned now */
  uint64_t queue_capacity;   /* the most engram_observe can hold before ENGRAM_FULL */
  uint64_t model_updates;    /* times predictions picked up newer weights */
  double loss_real;          /* cross-entropy on new observations, last step */
  double loss_replay;        /* cross-entropy on recollections, last step */
  /* Added after 0.1.0: */
  uint64_t rejected_non_finite;   /* of rejected_invalid: an ENGRAM_F32 value was NaN or Inf */
  uint64_t rejected_out_of_range; /* of rejected_invalid: an ENGRAM_F32 value was outside [0,1] */
  uint64_t skipped_steps;         /* training steps not applied because their loss or gradients were
                                     not finite (the weights are never updated with NaN or Inf) */
} engram_counters;

/* sizeof(engram_counters) of the first version (0.1): the smallest size engram_get_counters
 * accepts. */
#define ENGRAM_COUNTERS_V1_SIZE 88

/* The library version, e.g. "0.1.0". */
ENGRAM_API const char* engram_version(void);

/* Text of the last error on the calling thread ("" if none). Valid until the next engram call
 * on this thread. */
ENGRAM_API const char* engram_last_error(void);

/* Creates a learner from a JSON configuration text and starts learning. *out receives the
 * handle (NULL on error). */
ENGRAM_API int engram_open_json(const char* json, engram_t** out);

/* Creates a learner from a configuration file: a .json file, or a .lua script that returns
 * the configuration as a table (and may compute it, e.g. with engram.latent_size). */
ENGRAM_API int engram_open_file(const char* path, engram_t** out);

/* Creates a learner from a snapshot written by engram_snapshot, with its memory, weights,
 * optimiser state, counters and configuration. The file is fully verified first. */
ENGRAM_API int engram_restore(const char* path, engram_t** out);

/* Queues one labelled observation of task `task` for learning. Never waits: returns
 * ENGRAM_FULL (observation not taken) when the queue is full. Observations of one task are
 * learned in batches; a change of task ends the current batch. */
ENGRAM_API int engram_observe(engram_t* e, const engram_input* x, int32_t label, int32_t task);

/* Classifies x among the classes learned so far. *label receives the most probable class;
 * probs, if not NULL, receives probs_len == classes probabilities (0 for classes not learned
 * yet). Runs on the calling thread against weights at most predict_refresh_ms old; it does not
 * wait for training. ENGRAM_NOT_READY before anything has been learned. */
ENGRAM_API int engram_predict(engram_t* e, const engram_input* x, int32_t* label, float* probs,
                              size_t probs_len);

/* Blocks until every observation accepted before the call has been learned and predictions use
 * the result, or timeout_s seconds pass (ENGRAM_E_TIMEOUT). */
ENGRAM_API int engram_flush(engram_t* e, double timeout_s);

/* Writes the learner's whole state to `path` (zstd-compressed, checksummed, atomic: a crash
 * leaves the previous file). Learns everything observed before the call first. */
ENGRAM_API int engram_snapshot(engram_t* e, const char* path);

/* A consolidation boundary: learns everything observed before the call, then makes it
 * recallable (recollections come from what was learned before the last boundary). A change of
 * task id makes one by itself; a stream without task ids needs this call, e.g. every N
 * observations, to be replayed at all. */
ENGRAM_API int engram_consolidate(engram_t* e);

/* Copies the counters into *out. size is the caller's sizeof(engram_counters): any size from
 * ENGRAM_COUNTERS_V1_SIZE up is accepted. engram fills the fields that fit in `size` and zeroes
 * any bytes beyond the fields it knows, so programs built against older or newer headers both
 * work. */
ENGRAM_API int engram_get_counters(engram_t* e, engram_counters* out, size_t size);

/* Stops learning and frees the learner. Observations still queued are discarded: call
 * engram_flush first to keep them. NULL is allowed and does nothing.
 * Safe while other threads use the handle: engram_close makes a waiting engram_flush or
 * engram_snapshot return ENGRAM_E_CLOSED at once, lets the other calls in progress finish,
 * waits for all of them to return, then frees the model and its memory. Every call made with
 * the handle afterwards returns ENGRAM_E_CLOSED (a second engram_close does nothing): the
 * handle's few bytes are kept until the process exits, so a late call never touches freed
 * memory. */
ENGRAM_API void engram_close(engram_t* e);

#ifdef __cplusplus
}
#endif

#endif /* ENGRAM_H */
