// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include "display.h"
#include "percentile.h"
#include "plot.h"
#include "text.h"

static const char *terminal_for(const char *file)
{
	const char *dot = strrchr(file, '.');

	if (dot && !strcmp(dot, ".svg"))
		return "svg size 1000,700 dynamic background rgb 'white'";
	if (dot && !strcmp(dot, ".png"))
		return "png size 1000,700";
	return NULL;
}

/* Quotes or newlines would end gnuplot's string early. */
static bool plain(const char *s)
{
	return !strpbrk(s, "'\"\\\n\r`");
}

/* Per power of two: the fine buckets would be unreadable as bars. */
static void write_hist(FILE *gp, const struct scb_stats *s)
{
	__u64 oct[32];
	int i, last = 0;

	rtt_octaves(s, oct);
	for (i = 0; i < 32; i++)
		if (oct[i])
			last = i;
	fprintf(gp, "$hist << EOD\n");
	for (i = 0; i <= last; i++)
		fprintf(gp, "\"%llu-%llu\" %llu\n", i ? 1ULL << i : 0ULL, (1ULL << (i + 1)) - 1,
			(unsigned long long)oct[i]);
	fprintf(gp, "EOD\n");
}

static void write_series(FILE *gp, const struct plot_sample *xs, int n)
{
	int i;

	fprintf(gp, "$series << EOD\n");
	for (i = 0; i < n; i++) {
		const struct scb_stats *s = &xs[i].s;

		fprintf(gp, "%.3f %llu %llu %llu %llu %llu\n", xs[i].t,
			(unsigned long long)(s->active_established + s->passive_established),
			(unsigned long long)s->closed, (unsigned long long)s->retrans,
			(unsigned long long)s->rto, (unsigned long long)s->rtt_samples);
	}
	fprintf(gp, "EOD\n");
}

static void write_script(FILE *gp, const char *file, const char *term, const char *title,
			 const struct plot_sample *xs, int n)
{
	fprintf(gp, "set terminal %s\nset output '%s'\nset termoption noenhanced\n", term, file);
	write_hist(gp, &xs[n - 1].s);
	write_series(gp, xs, n);
	fprintf(gp,
		"set multiplot layout 2,1 title 'sockops-cb: %s'\n"
		"set title 'RTT (microseconds, log2 buckets)'\n"
		"set style fill solid 0.6\nset boxwidth 0.8\nset ylabel 'samples'\n"
		"set xtics rotate by -45\nset yrange [0:*]\n"
		"plot $hist using 0:2:xtic(1) with boxes lc rgb '#4477aa' notitle\n"
		"set title 'counters over time'\nset xtics norotate\nset xlabel 'seconds'\n"
		"set ylabel 'count'\nset key left top\nset ytics nomirror\nset y2tics\n"
		"%s"
		"plot $series using 1:2 with linespoints title 'established', "
		"'' using 1:3 with linespoints title 'closed', "
		"'' using 1:4 with linespoints title 'retransmits', "
		"'' using 1:5 with linespoints title 'RTOs', "
		"'' using 1:6 axes x1y2 with lines dt 2 title 'RTT samples (right axis)'\n"
		"unset multiplot\n",
		title, n == 1 ? "set xrange [-1:1]\n" : "");
}

int plot_check(const char *file, struct scb_error **err)
{
	char esc[300];
	FILE *out;

	if (!terminal_for(file))
		return scb_error_set(err, SCB_ERR_INPUT, "--plot wants a .svg or .png file, not %s",
				     text_escape(file, esc, sizeof(esc)));
	/* gnuplot would only say "cannot open", and after the sampling. */
	out = fopen(file, "w");
	if (!out)
		return scb_error_set(err, SCB_ERR_INPUT, "cannot write %s: %s",
				     text_escape(file, esc, sizeof(esc)), strerror(errno));
	fclose(out);
	return 0;
}

int plot_write(const char *file, const struct scb_target *t, const struct plot_sample *xs,
	       int n, struct scb_error **err)
{
	const char *term = terminal_for(file);
	char title[160], esc[300];
	FILE *gp;
	int status;

	if (!term)
		return scb_error_set(err, SCB_ERR_INPUT, "--plot wants a .svg or .png file, not %s",
				     text_escape(file, esc, sizeof(esc)));
	if (!plain(file))
		return scb_error_set(err, SCB_ERR_INPUT,
				     "--plot file name must not contain quotes, backslashes or newlines");
	snprintf(title, sizeof(title), "%s (%.12s)", target_label(t), t->id);
	if (!plain(title))
		snprintf(title, sizeof(title), "%.12s", t->id);
	gp = popen("gnuplot", "w");
	if (!gp)
		return scb_error_set(err, SCB_ERR_INTERNAL, "cannot run gnuplot: %s",
				     strerror(errno));
	write_script(gp, file, term, title, xs, n);
	status = pclose(gp);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		return scb_error_set(err, SCB_ERR_INTERNAL,
				     "gnuplot failed (exit %d); is gnuplot installed (apt-get install gnuplot-nox)?",
				     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}
