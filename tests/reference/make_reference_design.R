#!/usr/bin/env Rscript
# Reference outputs for the trial design (issue 14): custom contrasts of cell means whose
# weights do not sum to zero, a difference of changes across non-adjacent visits, and a
# numeric covariate, under limma (exact reparametrized coefficient and contrasts.fit on a
# cell-means fit) and lmerTest (Satterthwaite, checked against emmeans).
#
# Run from the repository root (inputs are those of make_reference.R):
#
#     Rscript tests/reference/make_reference_design.R                       # Debian limma 3.54.1
#     R_LIBS="$HOME/rlib-limma363" Rscript tests/reference/make_reference_design.R   # 3.63.2
#
# limma outputs carry the limma version in their name (design_limma_<case>_<version>.csv);
# the lmerTest outputs (design_mixed_<case>.csv) do not depend on limma and are written by
# the Debian run only. Every number is written with sprintf("%.17g"), NA as an empty cell.

suppressPackageStartupMessages({
  library(limma)
  library(lme4)
  library(lmerTest)
  library(emmeans)
})
options(warn = 1)
ref_dir <- file.path("tests", "reference")
stopifnot(file.exists(file.path(ref_dir, "make_reference_design.R")))
limma_version <- as.character(packageVersion("limma"))
cat("limma", limma_version, "\n")

source(file.path(ref_dir, "reference_io.R"))  # fmt(), write_table()
read_input <- function(name) {
  raw <- read.csv(file.path(ref_dir, sprintf("input_%s.csv", name)),
                  colClasses = "character", check.names = FALSE)
  y <- matrix(suppressWarnings(as.numeric(as.matrix(raw[, -1]))), nrow(raw),
              dimnames = list(raw$protein_id, colnames(raw)[-1]))
  samples <- read.csv(file.path(ref_dir, sprintf("samples_%s.csv", name)),
                      colClasses = "character")
  stopifnot(identical(samples$sample_id, colnames(y)))
  list(y = y[rowSums(!is.na(y)) > 0, , drop = FALSE], samples = samples)
}

# ----------------------------------------------------------------- the cases
unbalanced <- read_input("unbalanced")
blinded <- read_input("blinded")
# a numeric covariate: one age per subject, with decimals (never a category)
subjects <- sort(unique(unbalanced$samples$subject_id))
age_of <- setNames(35 + (seq_along(subjects) * 7) %% 31 + 0.25 * (seq_along(subjects) %% 3),
                   subjects)
unbalanced_age <- unbalanced
unbalanced_age$samples$age <- unname(age_of[unbalanced$samples$subject_id])
if (limma_version == "3.54.1") {
  write_table(unbalanced_age$samples, "samples_unbalanced_age.csv")
}

cases <- list(
  cellmean = list(d = unbalanced, ref = "placebo", trt = "aMSC",
                  visits = c("baseline", "month1", "month4"), cov = "",
                  contrasts = list(aMSC_at_month4 = c("aMSC:month4" = 1),
                                   placebo_mean_followup = c("placebo:month1" = 0.5,
                                                             "placebo:month4" = 0.5))),
  blinded = list(d = blinded, ref = "A", trt = "B",
                 visits = c("baseline", "week2", "month1", "month4"), cov = "batch",
                 contrasts = list(B_vs_A_change_week2_to_month4 =
                                    c("B:month4" = 1, "B:week2" = -1, "A:month4" = -1,
                                      "A:week2" = 1),
                                  B_at_month4 = c("B:month4" = 1))),
  age = list(d = unbalanced_age, ref = "placebo", trt = "aMSC",
             visits = c("baseline", "month1", "month4"), cov = "age",
             contrasts = list(aMSC_vs_placebo_change_month1 = c("aMSC:month1" = 1,
                                                                "aMSC:baseline" = -1,
                                                                "placebo:month1" = -1,
                                                                "placebo:baseline" = 1),
                              aMSC_vs_placebo_change_month4 = c("aMSC:month4" = 1,
                                                                "aMSC:baseline" = -1,
                                                                "placebo:month4" = -1,
                                                                "placebo:baseline" = 1),
                              aMSC_vs_placebo_at_baseline = c("aMSC:baseline" = 1,
                                                              "placebo:baseline" = -1),
                              aMSC_at_month4 = c("aMSC:month4" = 1)))
)

design_frame <- function(cs) {
  s <- cs$d$samples
  dd <- data.frame(arm = factor(s$arm, levels = c(cs$ref, cs$trt)),
                   visit = factor(s$visit, levels = cs$visits),
                   subject = s$subject_id, stringsAsFactors = FALSE)
  dd$cell <- factor(paste(dd$arm, dd$visit, sep = "."),
                    levels = as.vector(t(outer(c(cs$ref, cs$trt), cs$visits, paste, sep = "."))))
  if (cs$cov == "batch") dd$batch <- factor(s$batch, levels = c("b1", "b2"))
  if (cs$cov == "age") dd$age <- as.numeric(s$age)
  dd
}

# cell-means weights of a contrast (covariates: sum-to-zero factors, numeric at its mean,
# so a cell coefficient is the cell mean averaged over batch / at the mean age)
cell_weights <- function(cs, w, columns) {
  l <- setNames(numeric(length(columns)), columns)
  for (cell in names(w)) {
    parts <- strsplit(cell, ":", fixed = TRUE)[[1]]
    l[paste0("cell", parts[1], ".", parts[2])] <- w[[cell]]
  }
  l
}

for (case in names(cases)) {
  cs <- cases[[case]]
  y <- cs$d$y
  dd <- design_frame(cs)
  # exact route: cell means with the numeric covariate centred and the factor covariate
  # sum-coded, so that each cell coefficient is the cell mean as salivaprot (and emmeans)
  # define it; the contrast is made a coefficient by reparametrizing (X %*% solve(T), T
  # having the contrast as row k), which gives its exact per-protein standard error
  if (cs$cov == "age") dd$age_c <- dd$age - mean(dd$age)
  rhs <- switch(cs$cov, batch = "~ 0 + cell + batch", age = "~ 0 + cell + age_c", "~ 0 + cell")
  X <- model.matrix(as.formula(rhs), dd,
                    contrasts.arg = if (cs$cov == "batch") list(batch = "contr.sum") else NULL)
  # contrasts.fit route: the cell-means design a standard R script writes (treatment-coded
  # batch, raw age); a cell mean then carries 0.5 of batchb2, or mean(age) of age
  rhs_s <- switch(cs$cov, batch = "~ 0 + cell + batch", age = "~ 0 + cell + age", "~ 0 + cell")
  Xs <- model.matrix(as.formula(rhs_s), dd)
  rhs1 <- switch(cs$cov, batch = "~ arm * visit + batch", age = "~ arm * visit + age",
                 "~ arm * visit")
  X1 <- model.matrix(as.formula(rhs1), dd)
  stopifnot(qr(X)$rank == ncol(X), qr(cbind(X, X1, Xs))$rank == ncol(X))
  rho <- duplicateCorrelation(y, X1, block = dd$subject)$consensus.correlation
  cat(sprintf("%s: consensus correlation %.10f\n", case, rho))
  fit_s <- lmFit(y, Xs, block = dd$subject, correlation = rho)
  L <- sapply(cs$contrasts, function(w) cell_weights(cs, w, colnames(X)))
  rownames(L) <- colnames(X)
  Ls <- sapply(cs$contrasts, function(w) {
    l <- cell_weights(cs, w, colnames(Xs))
    if (cs$cov == "batch") l["batchb2"] <- 0.5 * sum(w)
    if (cs$cov == "age") l["age"] <- mean(dd$age) * sum(w)
    l
  })
  rownames(Ls) <- colnames(Xs)
  rows <- list()
  for (name in colnames(L)) {
    l <- L[, name]
    k <- which(l != 0)[1]
    Tm <- diag(ncol(X))
    Tm[k, ] <- l
    Xr <- X %*% solve(Tm)
    fr <- eBayes(lmFit(y, Xr, block = dd$subject, correlation = rho))
    # lm.fit reports coefficient k whenever its column is not aliased, also when the
    # contrast is not estimable from the protein's observed cells: mask those
    ok <- vapply(seq_len(nrow(y)), function(i) {
      Xo <- X[!is.na(y[i, ]), , drop = FALSE]
      qr(rbind(Xo, l))$rank == qr(Xo)$rank
    }, logical(1))
    keep <- function(v) ifelse(ok, v, NA)
    cf <- eBayes(contrasts.fit(fit_s, Ls[, name, drop = FALSE]))
    rows[[length(rows) + 1L]] <- data.frame(
      protein_id = rownames(y), contrast = name, route = "exact",
      estimate = keep(fr$coefficients[, k]),
      se = keep(fr$stdev.unscaled[, k] * sqrt(fr$s2.post)),
      t = keep(fr$t[, k]), df = fr$df.total, p_value = keep(fr$p.value[, k]),
      stringsAsFactors = FALSE)
    rows[[length(rows) + 1L]] <- data.frame(
      protein_id = rownames(y), contrast = name, route = "contrasts_fit",
      estimate = cf$coefficients[, 1], se = cf$stdev.unscaled[, 1] * sqrt(cf$s2.post),
      t = cf$t[, 1], df = cf$df.total, p_value = cf$p.value[, 1], stringsAsFactors = FALSE)
  }
  out <- do.call(rbind, rows)
  out$correlation <- rho
  write_table(out, sprintf("design_limma_%s_%s.csv", case, limma_version))

  if (limma_version != "3.54.1") next
  # ------------------------------------------------------------- lmerTest + emmeans
  mixed_rows <- list()
  max_emm <- 0
  for (i in seq_len(nrow(y))) {
    o <- !is.na(y[i, ])
    di <- dd[o, , drop = FALSE]
    di$y <- y[i, o]
    if (length(unique(di$cell)) < nlevels(dd$cell) || length(unique(di$subject)) < 3) next
    f <- tryCatch(suppressMessages(suppressWarnings(
      lmerTest::lmer(as.formula(paste("y", rhs1, "+ (1 | subject)")), data = di, REML = TRUE))),
      error = function(e) NULL)
    if (is.null(f)) next
    beta <- lme4::fixef(f)
    if (length(beta) != ncol(X1)) next
    for (name in colnames(L)) {
      w <- cs$contrasts[[name]]
      l1 <- setNames(numeric(ncol(X1)), colnames(X1))
      for (cell in names(w)) {
        parts <- strsplit(cell, ":", fixed = TRUE)[[1]]
        row <- setNames(numeric(ncol(X1)), colnames(X1))
        row["(Intercept)"] <- 1
        if (parts[1] != cs$ref) row[paste0("arm", parts[1])] <- 1
        if (parts[2] != cs$visits[1]) row[paste0("visit", parts[2])] <- 1
        if (parts[1] != cs$ref && parts[2] != cs$visits[1]) {
          row[paste0("arm", parts[1], ":visit", parts[2])] <- 1
        }
        if (cs$cov == "batch") row["batchb2"] <- 0.5
        if (cs$cov == "age") row["age"] <- mean(dd$age)  # all samples' mean, as salivaprot
        l1 <- l1 + w[[cell]] * row
      }
      ct <- lmerTest::contest1D(f, l1, ddf = "Satterthwaite")
      if (length(w) == 1 && cs$cov != "age") {  # a cell mean: emmeans must agree
        parts <- strsplit(names(w)[1], ":", fixed = TRUE)[[1]]
        em <- as.data.frame(emmeans::emmeans(f, ~ arm * visit, lmer.df = "satterthwaite"))
        e <- em$emmean[em$arm == parts[1] & em$visit == parts[2]]
        max_emm <- max(max_emm, abs(e - ct$Estimate))
      }
      mixed_rows[[length(mixed_rows) + 1L]] <- data.frame(
        protein_id = rownames(y)[i], contrast = name, estimate = ct$Estimate,
        se = ct$`Std. Error`, df = ct$df, t = ct$`t value`, p_value = ct$`Pr(>|t|)`,
        stringsAsFactors = FALSE)
    }
  }
  stopifnot(max_emm < 1e-8)
  cat(sprintf("%s: lmerTest contest1D equals emmeans cell means (max |diff| %.2g)\n",
              case, max_emm))
  write_table(do.call(rbind, mixed_rows), sprintf("design_mixed_%s.csv", case))
}
writeLines(c(R.version.string, paste("limma", limma_version),
             paste("lme4", packageVersion("lme4")), paste("lmerTest", packageVersion("lmerTest")),
             paste("emmeans", packageVersion("emmeans"))),
           file.path(ref_dir, sprintf("versions_design_%s.txt", limma_version)))
