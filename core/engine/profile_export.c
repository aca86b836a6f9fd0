/* profile_export.c: a profile (profile.h) in the formats the common viewers open. Chrome
 * trace event JSON for Perfetto and chrome://tracing (the "Trace Event Format" document's
 * object form: complete events nest per thread, metadata names the process and threads,
 * counter events draw memory), collapsed stacks for flamegraph.pl, speedscope and inferno,
 * and an SVG flame graph drawn here, so a profile can be looked at with nothing installed.
 *
 * Each writer prints into memory (open_memstream) and then replaces the file atomically
 * (core/base/file.h), so a viewer never reads half a file. Times print from integer
 * nanoseconds as microseconds with three decimals, never through a double, so a child's
 * printed end can never pass its parent's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/alloc.h"
#include "core/base/errors.h"
#include "core/base/file.h"
#include "core/engine/profile.h"

/* ---- files ----------------------------------------------------------------------------- */

typedef int (*fill_fn)(const ls_prof *p, FILE *f);

static int write_file(const char *path, const ls_prof *p, fill_fn fill, ls_diag *d) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) return ls_diag_set(d, LS_ENOMEM, "out of memory");
  int rc = fill(p, mem);
  if (fclose(mem) != 0 || rc) {
    free(text);
    return ls_diag_set(d, LS_ENOMEM, "out of memory writing %s", path);
  }
  char *tmp = NULL;
  int fd;
  rc = ls_file_tmp_create(path, &tmp, &fd, d);
  if (rc) {
    free(text);
    return rc;
  }
  for (size_t off = 0; off < len;) {
    ssize_t k = write(fd, text + off, len - off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = errno;
      ls_file_tmp_discard(fd, tmp);
      ls_free(tmp);
      free(text);
      return ls_diag_set_at(d, LS_EIO, path, -1, "%s: write failed: %s", path, strerror(e));
    }
    off += (size_t)k;
  }
  free(text);
  rc = ls_file_tmp_commit(fd, tmp, path, d);
  ls_free(tmp);
  return rc;
}

/* Nanoseconds as microseconds, "12.345" (non-negative by construction). */
static void put_us(FILE *f, int64_t ns) {
  if (ns < 0) ns = 0;
  fprintf(f, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

static void put_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
    else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
    else fputc(*c, f);
  }
  fputc('"', f);
}

static void put_xml(FILE *f, const char *s, size_t max) {
  for (size_t i = 0; s[i] && i < max; i++) {
    switch (s[i]) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(s[i], f);
    }
  }
}

static const char *compute_name(const ls_prof *p) { return p->compute == LS_ENGINE_COMPUTE_BF16 ? "bf16" : "fp32"; }

/* ---- Chrome trace event JSON ------------------------------------------------------------ */

static void trace_meta(FILE *f, const char *what, int tid, const char *name, int sort) {
  fprintf(f, ",\n{\"name\":\"%s\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":", what, tid);
  put_json_str(f, name);
  fprintf(f, "}}");
  if (sort >= 0)
    fprintf(f, ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"sort_index\":%d}}",
            tid, sort);
}

static int fill_trace(const ls_prof *p, FILE *f) {
  const ls_model *m = p->m;
  char title[256];
  snprintf(title, sizeof title, "layerscope profile: %s, S=%lld, %d threads, %s", m->architecture,
           (long long)p->seq, p->threads, compute_name(p));
  fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
  fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":");
  put_json_str(f, title);
  fprintf(f, "}}");
  trace_meta(f, "thread_name", 1, "engine thread (worker 0): modules", 0);
  for (int w = 1; w < p->threads; w++) {
    char name[64];
    snprintf(name, sizeof name, "worker %d: pool jobs", w);
    trace_meta(f, "thread_name", 1 + w, name, w);
  }
  for (size_t s = 0; s < p->n_spans; s++) {
    const ls_prof_span *sp = &p->spans[s];
    const ls_model_module *md = &m->modules[sp->module];
    const ls_prof_mod *pm = &p->mods[sp->module];
    fprintf(f, ",\n{\"name\":");
    put_json_str(f, ls_prof_mod_name(p, sp->module));
    fprintf(f, ",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":", ls_prof_kind_name(pm->kind));
    put_us(f, sp->t0_ns);
    fprintf(f, ",\"dur\":");
    put_us(f, sp->t1_ns - sp->t0_ns);
    fprintf(f, ",\"pid\":1,\"tid\":1,\"args\":{\"type\":");
    put_json_str(f, md->type ? md->type : "");
    fprintf(f, ",\"self_us\":");
    put_us(f, pm->calls == 1 ? pm->self_ns : pm->self_ns / (pm->calls ? pm->calls : 1));
    fprintf(f, ",\"gflop\":%.6g,\"gflops\":%.4g,\"gbps\":%.4g,\"bound\":\"%s\",\"roof_frac\":%.4g}}",
            (double)pm->flops / 1e9, pm->gflops, pm->gbps, ls_prof_bound_name(pm->bound), pm->roof_frac);
  }
  for (size_t j = 0; j < p->n_jobs; j++) {
    const ls_prof_job *jb = &p->jobs[j];
    fprintf(f, ",\n{\"name\":");
    put_json_str(f, jb->module >= 0 ? ls_prof_mod_name(p, jb->module) : "(between modules)");
    fprintf(f, ",\"cat\":\"job\",\"ph\":\"X\",\"ts\":");
    put_us(f, jb->t0_ns);
    fprintf(f, ",\"dur\":");
    put_us(f, jb->t1_ns - jb->t0_ns);
    fprintf(f, ",\"pid\":1,\"tid\":%d,\"args\":{\"tasks\":%d}}", 1 + jb->worker, jb->tasks);
  }
  for (size_t s = 0; s < p->n_samples; s++) {
    fprintf(f, ",\n{\"name\":\"memory\",\"ph\":\"C\",\"ts\":");
    put_us(f, p->samples[s].t_ns);
    fprintf(f, ",\"pid\":1,\"tid\":1,\"args\":{\"rss_mib\":%.3f}}", (double)p->samples[s].rss_bytes / 1048576.0);
  }
  fprintf(f, "\n],\"otherData\":{\"tool\":\"layerscope profile\",\"architecture\":");
  put_json_str(f, m->architecture);
  fprintf(f, ",\"seq\":%lld,\"threads\":%d,\"compute\":\"%s\",\"total_us\":", (long long)p->seq, p->threads,
          compute_name(p));
  put_us(f, p->total_ns);
  fprintf(f, ",\"cpu\":");
  put_json_str(f, p->cpu);
  fprintf(f, "}}\n");
  return ferror(f) ? LS_EIO : LS_OK;
}

int ls_prof_write_trace(const ls_prof *p, const char *path, ls_diag *d) {
  return write_file(path, p, fill_trace, d);
}

/* ---- collapsed stacks ------------------------------------------------------------------- */

/* A frame's name: the module's last component, with its list for a numbered one
 * ("layers.0", "experts.3"), and the class for the root. */
static void frame_name(const ls_prof *p, int i, char *buf, size_t cap) {
  const ls_model_module *md = &p->m->modules[i];
  if (md->parent < 0) {
    snprintf(buf, cap, "%s", p->m->architecture);
    return;
  }
  const char *leaf = md->leaf && md->leaf[0] ? md->leaf : md->name;
  if (leaf[0] >= '0' && leaf[0] <= '9' && md->parent >= 0) {
    const ls_model_module *par = &p->m->modules[md->parent];
    snprintf(buf, cap, "%s.%s", par->leaf && par->leaf[0] ? par->leaf : "", leaf);
  } else {
    snprintf(buf, cap, "%s", leaf);
  }
  for (char *c = buf; *c; c++)
    if (*c == ';' || *c == ' ' || *c == '\n') *c = '_'; /* the format's separators */
}

static void put_stack(const ls_prof *p, FILE *f, int i) {
  if (p->m->modules[i].parent >= 0) {
    put_stack(p, f, p->m->modules[i].parent);
    fputc(';', f);
  }
  char name[256];
  frame_name(p, i, name, sizeof name);
  fputs(name, f);
}

static int fill_collapsed(const ls_prof *p, FILE *f) {
  int64_t cum = 0, printed = 0; /* ns so far; microseconds printed so far */
  for (size_t i = 0; i < p->m->n_modules; i++) {
    const ls_prof_mod *pm = &p->mods[i];
    if (!pm->calls) continue;
    cum += pm->self_ns;
    int64_t upto = (cum + 500) / 1000, v = upto - printed;
    if (v <= 0) continue;
    printed = upto;
    put_stack(p, f, (int)i);
    fprintf(f, " %lld\n", (long long)v);
  }
  return ferror(f) ? LS_EIO : LS_OK;
}

int ls_prof_write_collapsed(const ls_prof *p, const char *path, ls_diag *d) {
  return write_file(path, p, fill_collapsed, d);
}

/* ---- SVG flame graph ---------------------------------------------------------------------- */

#define SVG_W 1200
#define SVG_ROW 18
#define SVG_TOP 52

static const char *kind_color(ls_prof_kind k) {
  switch (k) {
  case LS_PROF_KIND_ATTENTION: return "#f0a04b";
  case LS_PROF_KIND_MLP: return "#6fa8dc";
  case LS_PROF_KIND_NORM: return "#93c47d";
  case LS_PROF_KIND_EMBEDDING: return "#b4a7d6";
  case LS_PROF_KIND_HEAD: return "#e06666";
  default: return "#b7b7b7";
  }
}

static int fill_svg(const ls_prof *p, FILE *f) {
  int max_depth = 0;
  for (size_t s = 0; s < p->n_spans; s++)
    if (p->spans[s].depth > max_depth) max_depth = p->spans[s].depth;
  int h = SVG_TOP + (max_depth + 1) * SVG_ROW + 40;
  double total = p->total_ns > 0 ? (double)p->total_ns : 1;
  int64_t t_root = p->n_spans ? p->spans[0].t0_ns : 0;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
             "font-family=\"monospace\" font-size=\"12\">\n",
          SVG_W + 20, h, SVG_W + 20, h);
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
  fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"15\">layerscope profile: ");
  put_xml(f, p->m->architecture, 200);
  fprintf(f, ", S=%lld, %d threads, %s: %.3f ms</text>\n", (long long)p->seq, p->threads, compute_name(p),
          (double)p->total_ns / 1e6);
  fprintf(f, "<text x=\"10\" y=\"38\" fill=\"#555\">width = wall time; hover a box for its figures. ");
  int lx = 470;
  fprintf(f, "</text>\n");
  for (int k = 0; k < LS_PROF_KIND_COUNT; k++) {
    fprintf(f, "<rect x=\"%d\" y=\"28\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"38\">%s %.0f%%</text>\n",
            lx, kind_color((ls_prof_kind)k), lx + 16, ls_prof_kind_name((ls_prof_kind)k),
            100.0 * (double)p->kind_ns[k] / total);
    lx += 118;
  }
  for (size_t s = 0; s < p->n_spans; s++) {
    const ls_prof_span *sp = &p->spans[s];
    double x = 10 + SVG_W * (double)(sp->t0_ns - t_root) / total;
    double w = SVG_W * (double)(sp->t1_ns - sp->t0_ns) / total;
    if (w < 0.05) continue;
    const ls_prof_mod *pm = &p->mods[sp->module];
    const char *name = ls_prof_mod_name(p, sp->module);
    int y = SVG_TOP + sp->depth * SVG_ROW;
    fprintf(f, "<g><title>");
    put_xml(f, name, 400);
    fprintf(f, " (%s): %.3f ms, %.1f%% of the pass; self %.3f ms; %.3g GFLOP, %.3g GFLOP/s, %.3g GB/s",
            p->m->modules[sp->module].type ? p->m->modules[sp->module].type : "",
            (double)(sp->t1_ns - sp->t0_ns) / 1e6, 100.0 * (double)(sp->t1_ns - sp->t0_ns) / total,
            (double)pm->self_ns / 1e6, (double)pm->flops / 1e9, pm->gflops, pm->gbps);
    if (pm->bound != LS_PROF_BOUND_NONE)
      fprintf(f, "; %s-bound, %.0f%% of the roof", ls_prof_bound_name(pm->bound), 100 * pm->roof_frac);
    fprintf(f, "</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" stroke=\"#ffffff\" "
               "stroke-width=\"0.5\"/>",
            x, y, w, SVG_ROW - 1, kind_color(pm->kind));
    int chars = (int)((w - 6) / 7.2);
    if (chars >= 1) {
      char fn[256];
      frame_name(p, sp->module, fn, sizeof fn);
      size_t len = strlen(fn);
      /* a numbered element that does not fit ("layers.12") shows its number */
      const char *leaf = p->m->modules[sp->module].leaf;
      if (len > (size_t)chars && leaf && leaf[0] >= '0' && leaf[0] <= '9' && strlen(leaf) <= (size_t)chars) {
        snprintf(fn, sizeof fn, "%s", leaf);
        len = strlen(fn);
      }
      if (len > (size_t)chars && chars < 3) len = 0; /* nothing readable fits */
      if (len) {
        fprintf(f, "<text x=\"%.2f\" y=\"%d\">", x + 3, y + 13);
        if (len <= (size_t)chars) put_xml(f, fn, len);
        else {
          put_xml(f, fn, (size_t)chars - 2);
          fputs("..", f);
        }
        fprintf(f, "</text>");
      }
    }
    fprintf(f, "</g>\n");
  }
  fprintf(f, "<text x=\"10\" y=\"%d\" fill=\"#555\">", h - 14);
  put_xml(f, p->cpu[0] ? p->cpu : "unknown CPU", 120);
  if (p->peaks.gflops > 0)
    fprintf(f, "; peaks %.1f GFLOP/s, %.1f GB/s", p->peaks.gflops, p->peaks.gbps);
  fprintf(f, "</text>\n</svg>\n");
  return ferror(f) ? LS_EIO : LS_OK;
}

int ls_prof_write_svg(const ls_prof *p, const char *path, ls_diag *d) {
  return write_file(path, p, fill_svg, d);
}
