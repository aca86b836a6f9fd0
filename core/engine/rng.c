/* rng.c: Ziggurat normal deviates (see rng.h for the method and references). */
#include "core/engine/rng.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define ZIG_LAYERS 128
#define ZIG_R 3.442619855899         /* right edge of the base layer */
#define ZIG_V 9.91256303526217e-3    /* area of each layer */
#define ZIG_M 2147483648.0           /* 2^31: samples are signed 32-bit integers */

static uint32_t g_kn[ZIG_LAYERS];    /* [layers] acceptance bound of each layer, in sample units */
static double g_wn[ZIG_LAYERS];      /* [layers] sample unit -> x scale of each layer */
static double g_fn[ZIG_LAYERS];      /* [layers] exp(-x^2/2) at each layer's right edge */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void zig_init(void) {
  double dn = ZIG_R, tn = dn;
  double q = ZIG_V / exp(-0.5 * dn * dn);
  g_kn[0] = (uint32_t)((dn / q) * ZIG_M);
  g_kn[1] = 0;
  g_wn[0] = q / ZIG_M;
  g_wn[ZIG_LAYERS - 1] = dn / ZIG_M;
  g_fn[0] = 1.0;
  g_fn[ZIG_LAYERS - 1] = exp(-0.5 * dn * dn);
  for (int i = ZIG_LAYERS - 2; i >= 1; i--) {
    dn = sqrt(-2.0 * log(ZIG_V / dn + exp(-0.5 * dn * dn)));
    g_kn[i + 1] = (uint32_t)((dn / tn) * ZIG_M);
    tn = dn;
    g_fn[i] = exp(-0.5 * dn * dn);
    g_wn[i] = dn / ZIG_M;
  }
}

double ls_rng_normal(ls_rng *r) {
  pthread_once(&g_once, zig_init);
  for (;;) {
    uint64_t u = ls_rng_u64(r);
    int32_t hz = (int32_t)(uint32_t)u;          /* the sample: low 32 bits, signed */
    int iz = (int)(u >> 57);                    /* the layer: top 7 bits, independent */
    uint32_t mag = hz < 0 ? (uint32_t)(-(int64_t)hz) : (uint32_t)hz;
    double x = (double)hz * g_wn[iz];
    if (mag < g_kn[iz]) return x;               /* inside the layer's rectangle: done */
    if (iz == 0) {                              /* the tail beyond R (Marsaglia 1964) */
      double xt, yt;
      do {
        xt = -log(ls_rng_uniform(r)) / ZIG_R;
        yt = -log(ls_rng_uniform(r));
      } while (yt + yt < xt * xt);
      return hz > 0 ? ZIG_R + xt : -ZIG_R - xt;
    }
    /* the wedge between the rectangle and the curve */
    if (g_fn[iz] + ls_rng_uniform(r) * (g_fn[iz - 1] - g_fn[iz]) < exp(-0.5 * x * x)) return x;
  }
}
