#!/usr/bin/env Rscript
# Reference outputs for a multi-plex TMT study (issue 12): the downstream limma fit with the
# plex factor, ~ arm * visit + plex, subjects as blocks (duplicateCorrelation + lmFit with
# block + eBayes), on the log2 matrix salivaprot fits (the one after normalization and the
# removal of the pooled references; the reference here starts from that matrix).
#
# The study is simulated here, with set.seed(20261201): 3 plexes x 12 channels; each plex
# holds 4 subjects (2 per arm, so plex is not confounded with arm) x 3 visits; 150
# proteins with a protein-specific plex effect (sd 0.8), a subject effect (sd 0.4), noise
# (sd 0.3), a treatment effect at month 4 in 15 proteins, and about 6% missing values
# (more of them at low abundance). The Debian run writes input_tmt.csv and
# samples_tmt.csv; every run reads them back.
#
# Run from the repository root:
#
#     Rscript tests/reference/make_reference_tmt.R                          # limma 3.54.1
#     R_LIBS="$HOME/rlib-limma363" Rscript tests/reference/make_reference_tmt.R   # 3.63.2
#
# Output: tmt_limma_<version>.csv, one row per protein and coefficient tested (with the
# salivaprot contrast it is), plus the joint F test of the arm x visit interaction
# (contrast aMSC_vs_placebo_change_any: estimate and se empty, t = the exact F, see below);
# versions_tmt_<version>.txt.
# Numbers written with sprintf("%.17g"), NA as an empty cell.

suppressPackageStartupMessages(library(limma))
options(warn = 1)
ref_dir <- file.path("tests", "reference")
stopifnot(file.exists(file.path(ref_dir, "make_reference_tmt.R")))
limma_version <- as.character(packageVersion("limma"))
cat("limma", limma_version, "\n")

source(file.path(ref_dir, "reference_io.R"))  # fmt(), write_table()

# ---------------------------------------------------------------- the simulated study
if (limma_version == "3.54.1") {
  set.seed(20261201)
  visits <- c("baseline", "month1", "month4")
  plexes <- sprintf("Plex%d", 1:3)
  samples <- do.call(rbind, lapply(seq_along(plexes), function(k) {
    do.call(rbind, lapply(1:4, function(j) {
      subject <- sprintf("S%02d", (k - 1) * 4 + j)
      data.frame(subject_id = subject, arm = if (j %% 2 == 0) "aMSC" else "placebo",
                 visit = visits, plex = plexes[k], stringsAsFactors = FALSE)
    }))
  }))
  samples <- cbind(sample_id = sprintf("s%02d", seq_len(nrow(samples))), samples)
  n_proteins <- 150
  proteins <- sprintf("P%05d", seq_len(n_proteins))
  level <- rnorm(n_proteins, 20, 2)
  plex_effect <- matrix(rnorm(n_proteins * 3, 0, 0.8), n_proteins,
                        dimnames = list(NULL, plexes))
  subject_effect <- sapply(unique(samples$subject_id), function(s) rnorm(n_proteins, 0, 0.4))
  effect <- numeric(n_proteins)
  effect[1:15] <- rep(c(1.5, -1, 0.8), 5)
  y <- sapply(seq_len(nrow(samples)), function(i) {
    s <- samples[i, ]
    level + plex_effect[, s$plex] + subject_effect[, s$subject_id] +
      effect * (s$arm == "aMSC" && s$visit == "month4") + rnorm(n_proteins, 0, 0.3)
  })
  dimnames(y) <- list(proteins, samples$sample_id)
  p_missing <- plogis(-2.8 - 1.2 * (y - 20) / 2)
  y[matrix(runif(length(y)), nrow(y)) < p_missing] <- NA
  input <- data.frame(protein_id = proteins, y, check.names = FALSE)
  write_table(input, "input_tmt.csv")
  write_table(samples, "samples_tmt.csv")
}
raw <- read.csv(file.path(ref_dir, "input_tmt.csv"), colClasses = "character",
                check.names = FALSE)
y <- matrix(suppressWarnings(as.numeric(as.matrix(raw[, -1]))), nrow(raw),
            dimnames = list(raw$protein_id, colnames(raw)[-1]))
samples <- read.csv(file.path(ref_dir, "samples_tmt.csv"), colClasses = "character")
stopifnot(identical(samples$sample_id, colnames(y)))
cat(sprintf("%d proteins x %d samples, %.1f%% missing\n", nrow(y), ncol(y),
            100 * mean(is.na(y))))

# ---------------------------------------------------------------- the fit
dd <- data.frame(arm = factor(samples$arm, levels = c("placebo", "aMSC")),
                 visit = factor(samples$visit, levels = c("baseline", "month1", "month4")),
                 plex = factor(samples$plex, levels = c("Plex1", "Plex2", "Plex3")),
                 subject = samples$subject_id)
X <- model.matrix(~ arm * visit + plex, dd)
stopifnot(qr(X)$rank == ncol(X))
rho <- duplicateCorrelation(y, X, block = dd$subject)$consensus.correlation
cat(sprintf("consensus correlation %.10f\n", rho))
fit <- lmFit(y, X, block = dd$subject, correlation = rho)
eb <- eBayes(fit)
tested <- c(
  "armaMSC:visitmonth1" = "aMSC_vs_placebo_change_month1",
  "armaMSC:visitmonth4" = "aMSC_vs_placebo_change_month4",
  "visitmonth1" = "placebo_change_month1",
  "visitmonth4" = "placebo_change_month4",
  "armaMSC" = "aMSC_vs_placebo_at_baseline"
)
rows <- lapply(names(tested), function(k) {
  data.frame(protein_id = rownames(y), contrast = tested[[k]], coefficient = k,
             estimate = eb$coefficients[, k], se = eb$stdev.unscaled[, k] * sqrt(eb$s2.post),
             t = eb$t[, k], df = eb$df.total, p_value = eb$p.value[, k],
             stringsAsFactors = FALSE)
})
# the joint F test of the interaction: limma's fit$F uses one coefficient covariance for
# every protein (from the full design), exact only for proteins without missing values;
# the exact F comes from each protein's own GLS on its observed samples (as in
# make_reference.R), and equals limma's on the complete proteins (checked)
interaction <- c("armaMSC:visitmonth1", "armaMSC:visitmonth4")
ef <- eBayes(fit[, interaction])
block_cor <- function(subject, rho) {
  v <- outer(subject, subject, "==") * rho
  diag(v) <- 1
  v
}
f_num <- rep(NA_real_, nrow(y))
for (i in seq_len(nrow(y))) {
  o <- !is.na(y[i, ])
  Xo <- X[o, , drop = FALSE]
  if (qr(Xo)$rank < ncol(X)) next
  Vinv <- solve(block_cor(dd$subject[o], rho))
  U <- solve(t(Xo) %*% Vinv %*% Xo)
  b <- drop(U %*% t(Xo) %*% Vinv %*% y[i, o])
  f_num[i] <- drop(t(b[interaction]) %*% solve(U[interaction, interaction]) %*%
                     b[interaction]) / length(interaction)
}
f_exact <- f_num / eb$s2.post
complete <- rowSums(is.na(y)) == 0
stopifnot(max(abs(f_exact[complete] - ef$F[complete]) / ef$F[complete]) < 1e-10)
cat(sprintf("exact F equals limma's fit$F on the %d complete proteins\n", sum(complete)))
rows[[length(rows) + 1L]] <- data.frame(
  protein_id = rownames(y), contrast = "aMSC_vs_placebo_change_any",
  coefficient = paste(interaction, collapse = "+"), estimate = NA_real_, se = NA_real_,
  t = f_exact, df = eb$df.total,
  p_value = pf(f_exact, length(interaction), eb$df.total, lower.tail = FALSE),
  stringsAsFactors = FALSE)
out <- do.call(rbind, rows)
out$correlation <- rho
out$df_prior <- eb$df.prior[1]
write_table(out, sprintf("tmt_limma_%s.csv", limma_version))
writeLines(c(R.version.string, paste("limma", limma_version),
             sprintf("consensus correlation %.17g", rho),
             sprintf("df.prior %s, s2.prior %.17g", paste(unique(signif(eb$df.prior, 12)),
                                                          collapse = " "), eb$s2.prior[1])),
           file.path(ref_dir, sprintf("versions_tmt_%s.txt", limma_version)))
