#!/usr/bin/env Rscript
# Reference outputs for salivaprot's differential abundance, made with R.
#
# Run from the repository root, after `python tests/reference/make_inputs.py`:
#
#     Rscript tests/reference/make_reference.R
#
# For each design (balanced, unbalanced, blinded) it reads input_<design>.csv
# (proteins x samples, log2, median-normalized, empty = missing) and
# samples_<design>.csv, then writes
#   * limma (duplicateCorrelation + lmFit(block, correlation) + eBayes), exact
#     contrasts by reparametrized designs, four eBayes variants, exact GLS F;
#   * limma's standard cell-means + contrasts.fit route (approximate with NAs);
#   * per-protein lmer(y ~ arm * visit [+ batch] + (1 | subject)) with lmerTest
#     Satterthwaite contrasts and joint F;
#   * per-visit ANCOVA y_V ~ arm + y_B moderated with limma's eBayes.
# Every number is written with sprintf("%.17g"), NA as an empty cell.
# README.md in this folder documents every file and modelling choice.
#
# The limma found first on the library path decides where outputs go. A limma
# without eBayes's `legacy` argument (Debian's 3.54.1) writes everything into
# tests/reference/. A limma that has it (>= 3.61, e.g. 3.63.2 installed with
# `R_LIBS=...`) writes only what depends on eBayes's prior estimation into
# tests/reference/limma-<version>/, with eBayes's default (legacy = NULL): the
# limma tables of the T_vs_R_change contrasts, the _prior and _F tables, the
# model table and the ANCOVA tables (no contrasts.fit route, dupcor or mixed models).

suppressPackageStartupMessages({
  library(limma)
  library(lme4)
  library(lmerTest)
})
options(warn = 1)  # show R warnings (e.g. limma's "Partial NA coefficients") where they occur

ref_dir <- file.path("tests", "reference")
if (!file.exists(file.path(ref_dir, "make_reference.R"))) {
  stop("run from the repository root: Rscript tests/reference/make_reference.R")
}
versioned <- "legacy" %in% names(formals(eBayes))  # limma >= 3.61
out_dir <- if (versioned) {
  file.path(ref_dir, paste0("limma-", packageVersion("limma")))
} else {
  ref_dir
}
dir.create(out_dir, showWarnings = FALSE)

t_start <- proc.time()[["elapsed"]]
elapsed <- function(since) sprintf("%.1f s", proc.time()[["elapsed"]] - since)

designs <- list(
  balanced = list(ref = "placebo", trt = "aMSC",
                  visits = c("baseline", "month1", "month4"), batch = FALSE),
  unbalanced = list(ref = "placebo", trt = "aMSC",
                    visits = c("baseline", "month1", "month4"), batch = FALSE),
  blinded = list(ref = "A", trt = "B",
                 visits = c("baseline", "week2", "month1", "month4"), batch = TRUE)
)
variants <- c("default", "trend", "robust", "trend_robust")
ebayes_variant <- function(fit, variant) {
  eBayes(fit, trend = variant %in% c("trend", "trend_robust"),
         robust = variant %in% c("robust", "trend_robust"))
}

# ---------------------------------------------------------------- writing CSVs
format_column <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.logical(x)) {
    out <- ifelse(x, "TRUE", "FALSE")
  } else if (is.numeric(x)) {
    x <- as.numeric(x)
    out <- sprintf("%.17g", x)
  } else {
    out <- as.character(x)
    needs_quotes <- !is.na(out) & grepl("[\",\n\r]", out)
    out[needs_quotes] <- paste0("\"", gsub("\"", "\"\"", out[needs_quotes]), "\"")
  }
  out[is.na(x)] <- ""
  out
}
write_table <- function(df, name) {
  cells <- lapply(df, format_column)
  lines <- if (nrow(df)) do.call(paste, c(cells, sep = ",")) else character()
  con <- file(file.path(out_dir, name), open = "wb")
  on.exit(close(con))
  writeLines(c(paste(names(df), collapse = ","), lines), con, sep = "\n", useBytes = TRUE)
  invisible(name)
}
bh <- function(p) {
  out <- rep(NA_real_, length(p))
  ok <- !is.na(p)
  out[ok] <- p.adjust(p[ok], method = "BH")
  out
}
close_enough <- function(a, b, tol = 1e-10) isTRUE(all.equal(a, b, tolerance = tol))
checks <- character()
passed <- function(text) {
  checks[length(checks) + 1L] <<- text
  cat("  check passed:", text, "\n")
}

# --------------------------------------------------------------- reading input
read_design <- function(name, cfg) {
  raw <- read.csv(file.path(ref_dir, sprintf("input_%s.csv", name)),
                  colClasses = "character", check.names = FALSE)
  text <- as.matrix(raw[, -1, drop = FALSE])
  y <- matrix(suppressWarnings(as.numeric(text)), nrow(text),
              dimnames = list(raw$protein_id, colnames(text)))
  # the %.17g text must come back unchanged (exact round trip of the inputs)
  stopifnot(identical(as.vector(is.na(y)), as.vector(text == "")),
            all(sprintf("%.17g", y[!is.na(y)]) == text[!is.na(y)]))
  samples <- read.csv(file.path(ref_dir, sprintf("samples_%s.csv", name)),
                      colClasses = "character")
  stopifnot(identical(samples$sample_id, colnames(y)),
            setequal(samples$arm, c(cfg$ref, cfg$trt)),
            setequal(samples$visit, cfg$visits),
            all(samples$batch %in% c("b1", "b2")))
  design_data <- data.frame(
    arm = factor(samples$arm, levels = c(cfg$ref, cfg$trt)),
    visit = factor(samples$visit, levels = cfg$visits),
    batch = factor(samples$batch, levels = c("b1", "b2")),
    subject = samples$subject_id,
    stringsAsFactors = FALSE
  )
  list(y = y, samples = samples, dd = design_data)
}

# ---------------------------------------------------------- contrasts and names
make_contrasts <- function(cfg, coef_names) {
  ref <- cfg$ref
  trt <- cfg$trt
  base <- cfg$visits[1]
  follow <- cfg$visits[-1]
  a_t <- paste0("arm", trt)
  v_of <- function(v) paste0("visit", v)
  i_of <- function(v) paste0(a_t, ":", v_of(v))
  rows <- list()
  add <- function(name, type, visit, terms, fit, coef) {
    l <- setNames(numeric(length(coef_names)), coef_names)
    stopifnot(all(names(terms) %in% coef_names))
    l[names(terms)] <- terms
    rows[[length(rows) + 1L]] <<- list(name = name, type = type, visit = visit, l = l,
                                       fit = fit, coef = coef)
  }
  for (v in follow) {
    add(sprintf("%s_vs_%s_change_%s", trt, ref, v), "change", v,
        setNames(1, i_of(v)), "X1", i_of(v))
  }
  for (v in follow) {
    add(sprintf("%s_change_%s", trt, v), "trt_change", v,
        setNames(c(1, 1), c(v_of(v), i_of(v))), "arm_trt_first", v_of(v))
  }
  for (v in follow) {
    add(sprintf("%s_change_%s", ref, v), "ref_change", v,
        setNames(1, v_of(v)), "X1", v_of(v))
  }
  add(sprintf("%s_vs_%s_at_%s", trt, ref, base), "at", base, setNames(1, a_t), "X1", a_t)
  for (v in follow) {
    add(sprintf("%s_vs_%s_at_%s", trt, ref, v), "at", v,
        setNames(c(1, 1), c(a_t, i_of(v))), paste0("visit_", v, "_first"), a_t)
  }
  L <- do.call(rbind, lapply(rows, `[[`, "l"))
  rownames(L) <- vapply(rows, `[[`, "", "name")
  info <- data.frame(name = rownames(L), type = vapply(rows, `[[`, "", "type"),
                     visit = vapply(rows, `[[`, "", "visit"),
                     fit = vapply(rows, `[[`, "", "fit"),
                     coef = vapply(rows, `[[`, "", "coef"), stringsAsFactors = FALSE)
  list(L = L, info = info, joint_name = sprintf("%s_vs_%s_change_any", trt, ref),
       change = info$name[info$type == "change"])
}

design_formula <- function(cfg, rhs = "arm * visit") {
  as.formula(paste("~", rhs, if (cfg$batch) "+ batch" else ""))
}

# Is each contrast (row of L) estimable from the rows of X observed for a protein?
estimability <- function(y, X, L) {
  out <- matrix(FALSE, nrow(y), nrow(L), dimnames = list(rownames(y), rownames(L)))
  full_rank <- setNames(logical(nrow(y)), rownames(y))
  for (i in seq_len(nrow(y))) {
    o <- !is.na(y[i, ])
    if (!any(o)) next
    Xo <- X[o, , drop = FALSE]
    r <- qr(Xo)$rank
    full_rank[i] <- r == ncol(X)
    out[i, ] <- if (full_rank[i]) TRUE else
      apply(L, 1, function(l) qr(rbind(Xo, l))$rank == r)
  }
  list(estimable = out, full_rank = full_rank)
}

# Block-diagonal working correlation of the observed samples.
block_cor <- function(subject, rho) {
  V <- outer(subject, subject, "==") * rho
  diag(V) <- 1
  V
}

# --------------------------------------------------------------------- limma
run_limma <- function(name, cfg, d, con, est) {
  t0 <- proc.time()[["elapsed"]]
  y_all <- d$y
  dd <- d$dd
  fitted <- rowSums(!is.na(y_all)) > 0  # proteins with no observed value are not fitted
  y <- y_all[fitted, , drop = FALSE]
  subject <- dd$subject
  X1 <- model.matrix(design_formula(cfg), dd)
  stopifnot(identical(colnames(X1), colnames(con$L)))

  dupcor <- duplicateCorrelation(y, X1, block = subject)
  rho <- dupcor$consensus.correlation
  cat(sprintf("  consensus correlation %.10f\n", rho))

  # reparametrized designs: every contrast is a coefficient of one of them
  designs_x <- list(X1 = X1)
  dd2 <- dd
  dd2$arm <- factor(dd$arm, levels = c(cfg$trt, cfg$ref))
  designs_x$arm_trt_first <- model.matrix(design_formula(cfg), dd2)
  for (v in cfg$visits[-1]) {
    dd3 <- dd
    dd3$visit <- factor(dd$visit, levels = c(v, setdiff(cfg$visits, v)))
    designs_x[[paste0("visit_", v, "_first")]] <- model.matrix(design_formula(cfg), dd3)
  }
  fits <- lapply(designs_x, function(X) lmFit(y, X, block = subject, correlation = rho))
  for (k in names(fits)[-1]) {
    stopifnot(isTRUE(all.equal(fits[[k]]$sigma, fits$X1$sigma)),
              isTRUE(all.equal(fits[[k]]$df.residual, fits$X1$df.residual)))
  }
  passed(sprintf("%s: sigma and df.residual agree across the %d reparametrized lmFit fits",
                 name, length(fits)))

  # each reparametrized coefficient equals L %*% beta of X1 (full-rank proteins)
  fr <- est$full_rank[fitted]
  b1 <- fits$X1$coefficients
  for (j in seq_len(nrow(con$info))) {
    from_fit <- fits[[con$info$fit[j]]]$coefficients[fr, con$info$coef[j]]
    from_l <- drop(b1[fr, , drop = FALSE] %*% con$L[j, ])
    stopifnot(max(abs(from_fit - from_l)) < 1e-10)
  }
  passed(sprintf("%s: reparametrized coefficients equal L %%*%% beta(X1) to 1e-10", name))

  # manual GLS per protein: coefficients, unscaled covariance, F numerator
  change <- con$change
  Lc <- con$L[change, , drop = FALSE]
  q <- length(change)
  f_num <- setNames(rep(NA_real_, nrow(y)), rownames(y))
  max_coef_diff <- 0
  max_su_diff <- 0
  n_compared <- 0L
  for (i in seq_len(nrow(y))) {
    o <- !is.na(y[i, ])
    Xo <- X1[o, , drop = FALSE]
    qx <- qr(Xo)
    if (qx$rank == 0) next
    kept <- sort(qx$pivot[seq_len(qx$rank)])
    Xr <- Xo[, kept, drop = FALSE]
    Vinv <- solve(block_cor(subject[o], rho))
    U <- solve(t(Xr) %*% Vinv %*% Xr)
    b <- drop(U %*% t(Xr) %*% Vinv %*% y[i, o])
    if (length(kept) == ncol(X1)) {
      max_coef_diff <- max(max_coef_diff, abs(b - b1[i, ]))
      max_su_diff <- max(max_su_diff, abs(sqrt(diag(U)) - fits$X1$stdev.unscaled[i, ]))
      n_compared <- n_compared + 1L
      for (j in seq_len(nrow(con$info))) {
        su <- sqrt(drop(t(con$L[j, ]) %*% U %*% con$L[j, ]))
        max_su_diff <- max(max_su_diff,
                           abs(su - fits[[con$info$fit[j]]]$stdev.unscaled[i, con$info$coef[j]]))
      }
    }
    if (all(est$estimable[rownames(y)[i], change])) {
      Lr <- Lc[, kept, drop = FALSE]
      bc <- drop(Lr %*% b)
      Ubb <- Lr %*% U %*% t(Lr)
      f_num[i] <- drop(t(bc) %*% solve(Ubb) %*% bc) / q
    }
  }
  stopifnot(max_coef_diff < 1e-10, max_su_diff < 1e-10)
  passed(sprintf(paste("%s: manual GLS coefficients equal lmFit's (max |diff| %.2g) and",
                       "unscaled SEs of all contrasts (max |diff| %.2g), %d full-rank proteins"),
                 name, max_coef_diff, max_su_diff, n_compared))

  expand <- function(v) {  # fitted-protein vector -> all proteins, NA where not fitted
    out <- setNames(rep(NA_real_, nrow(y_all)), rownames(y_all))
    out[fitted] <- v
    out
  }
  results <- list()
  for (variant in variants) {
    eb <- lapply(fits, ebayes_variant, variant = variant)
    for (k in names(eb)[-1]) {
      stopifnot(isTRUE(all.equal(eb[[k]]$s2.post, eb$X1$s2.post)),
                isTRUE(all.equal(eb[[k]]$df.total, eb$X1$df.total)),
                isTRUE(all.equal(eb[[k]]$s2.prior, eb$X1$s2.prior)),
                isTRUE(all.equal(eb[[k]]$df.prior, eb$X1$df.prior)))
    }
    rows <- list()
    for (j in seq_len(nrow(con$info))) {
      f <- eb[[con$info$fit[j]]]
      cf <- con$info$coef[j]
      ok <- est$estimable[fitted, con$info$name[j]]
      estimate <- ifelse(ok, f$coefficients[, cf], NA)
      se <- ifelse(ok, f$stdev.unscaled[, cf] * sqrt(f$s2.post), NA)
      tt <- ifelse(ok, f$t[, cf], NA)
      p <- ifelse(ok, f$p.value[, cf], NA)
      rows[[j]] <- data.frame(
        protein_id = rownames(y_all), contrast = con$info$name[j],
        estimate = expand(estimate), se = expand(se), t = expand(tt),
        df = expand(f$df.total), p_value = expand(p), padj = bh(expand(p)),
        avg_log2 = expand(f$Amean), stringsAsFactors = FALSE)
    }
    tab <- do.call(rbind, rows)
    write_table(if (versioned) tab[tab$contrast %in% con$change, ] else tab,
                sprintf("limma_%s_%s.csv", name, variant))

    f1 <- eb$X1
    prior <- data.frame(
      protein_id = rownames(y_all), sigma = expand(f1$sigma),
      df_residual = expand(f1$df.residual),
      s2_prior = expand(rep_len(f1$s2.prior, nrow(y))),
      df_prior = expand(rep_len(f1$df.prior, nrow(y))),
      s2_post = expand(f1$s2.post), df_total = expand(f1$df.total),
      avg_log2 = expand(f1$Amean), stringsAsFactors = FALSE)
    write_table(prior, sprintf("limma_%s_%s_prior.csv", name, variant))

    f_stat <- f_num / f1$s2.post
    f_p <- pf(f_stat, q, f1$df.total, lower.tail = FALSE)
    testable <- !is.na(f_stat)
    ftab <- data.frame(
      protein_id = rownames(y_all), contrast = con$joint_name, F = expand(f_stat),
      df1 = expand(ifelse(testable, q, NA)), df2 = expand(ifelse(testable, f1$df.total, NA)),
      p_value = expand(f_p), stringsAsFactors = FALSE)
    write_table(ftab, sprintf("limma_%s_%s_F.csv", name, variant))

    # limma's own F (eBayes on the change coefficients of X1; same prior, as sigma is the
    # same) is exact for proteins without missing values: all of them in `balanced`
    complete <- rowSums(is.na(y)) == 0
    if (name == "balanced") stopifnot(all(complete), all(testable))
    own <- ebayes_variant(fits$X1[, con$info$coef[con$info$type == "change"]], variant)
    stopifnot(close_enough(own$s2.post, f1$s2.post),
              close_enough(unname(own$F[complete]), unname(f_stat[complete])),
              close_enough(unname(own$F.p.value[complete]), unname(f_p[complete])))
    passed(sprintf("%s/%s: exact GLS F and p equal limma's fit$F and fit$F.p.value (%d %s)",
                   name, variant, sum(complete),
                   if (all(complete)) "proteins, all complete" else "complete proteins"))
    results[[variant]] <- list(tab = tab, f = ftab, eb = f1)
  }

  # standard limma route: cell means + contrasts.fit (approximate when values are missing)
  cells <- as.vector(t(outer(c(cfg$ref, cfg$trt), cfg$visits, paste, sep = ".")))
  dd$cell <- factor(paste(dd$arm, dd$visit, sep = "."), levels = cells)
  Xc <- model.matrix(design_formula(cfg, "0 + cell"), dd)
  cm <- matrix(0, ncol(Xc), nrow(con$L),
               dimnames = list(colnames(Xc), rownames(con$L)))
  cell_col <- function(a, v) paste0("cell", a, ".", v)
  base <- cfg$visits[1]
  for (j in seq_len(nrow(con$info))) {
    v <- con$info$visit[j]
    w <- switch(con$info$type[j],
      change = c(1, -1, -1, 1), trt_change = c(1, -1, 0, 0),
      ref_change = c(0, 0, 1, -1), at = c(1, 0, -1, 0))
    targets <- c(cell_col(cfg$trt, v), cell_col(cfg$trt, base),
                 cell_col(cfg$ref, v), cell_col(cfg$ref, base))
    for (k in 1:4) cm[targets[k], j] <- cm[targets[k], j] + w[k]
  }
  fit_c <- lmFit(y, Xc, block = subject, correlation = rho)
  eb_c <- eBayes(contrasts.fit(fit_c, cm))
  eb_cf <- eBayes(contrasts.fit(fit_c, cm[, change, drop = FALSE]))
  rows <- lapply(seq_len(nrow(con$info)), function(j) {
    cn <- con$info$name[j]
    data.frame(
      protein_id = rownames(y_all), contrast = cn,
      estimate = expand(eb_c$coefficients[, cn]),
      se = expand(eb_c$stdev.unscaled[, cn] * sqrt(eb_c$s2.post)),
      t = expand(eb_c$t[, cn]), df = expand(eb_c$df.total),
      p_value = expand(eb_c$p.value[, cn]), padj = bh(expand(eb_c$p.value[, cn])),
      avg_log2 = expand(eb_c$Amean), stringsAsFactors = FALSE)
  })
  tab_c <- do.call(rbind, rows)
  if (!versioned) write_table(tab_c, sprintf("limma_%s_contrasts_fit_default.csv", name))
  ftab_c <- data.frame(
    protein_id = rownames(y_all), contrast = con$joint_name, F = expand(eb_cf$F),
    df1 = expand(ifelse(is.na(eb_cf$F), NA, q)),
    df2 = expand(ifelse(is.na(eb_cf$F), NA, eb_cf$df.total)),
    p_value = expand(eb_cf$F.p.value), stringsAsFactors = FALSE)
  if (!versioned) write_table(ftab_c, sprintf("limma_%s_contrasts_fit_default_F.csv", name))
  stopifnot(close_enough(eb_c$sigma, fits$X1$sigma))
  passed(sprintf("%s: cell-means lmFit has the same sigma as X1", name))
  d_exact <- results$default$tab
  if (name == "balanced") {
    for (col in c("estimate", "se", "t", "df", "p_value", "padj")) {
      stopifnot(close_enough(tab_c[[col]], d_exact[[col]]))
    }
    stopifnot(close_enough(ftab_c$F, results$default$f$F),
              close_enough(ftab_c$p_value, results$default$f$p_value))
    passed(sprintf("%s: contrasts.fit route equals the exact route (no missing values)", name))
  } else {
    complete <- rep(rowSums(is.na(y_all)) == 0, nrow(con$info))
    for (col in c("estimate", "se", "t", "df", "p_value")) {
      stopifnot(close_enough(tab_c[[col]][complete], d_exact[[col]][complete]))
    }
    passed(sprintf("%s: contrasts.fit route equals the exact route on the %d complete proteins",
                   name, sum(rowSums(is.na(y_all)) == 0)))
    both <- !is.na(tab_c$estimate) & !is.na(d_exact$estimate)
    cat(sprintf(paste("  contrasts.fit vs exact (default): max |diff| estimate %.3g,",
                      "se %.3g, t %.3g; NA estimates %d (contrasts.fit) vs %d (exact)\n"),
                max(abs(tab_c$estimate - d_exact$estimate)[both]),
                max(abs(tab_c$se - d_exact$se)[both]),
                max(abs(tab_c$t - d_exact$t)[both]),
                sum(is.na(tab_c$estimate)), sum(is.na(d_exact$estimate))))
  }

  f1 <- results$default$eb
  model <- data.frame(
    key = c("consensus_correlation", "n_proteins", "n_proteins_fitted", "n_samples",
            "n_subjects", "n_full_rank", "df_prior", "s2_prior"),
    value = c(rho, nrow(y_all), nrow(y), ncol(y_all), length(unique(subject)),
              sum(est$full_rank), f1$df.prior, f1$s2.prior),
    stringsAsFactors = FALSE)
  write_table(model, sprintf("limma_%s_model.csv", name))
  if (!versioned) write_table(data.frame(protein_id = rownames(y_all),
                         atanh_correlation = expand(dupcor$atanh.correlations),
                         stringsAsFactors = FALSE),
              sprintf("limma_%s_dupcor.csv", name))
  cat(sprintf("  limma done in %s: df_prior %.6f, s2_prior %.6f\n", elapsed(t0),
              f1$df.prior, f1$s2.prior))
  list(rho = rho, df_prior = f1$df.prior, s2_prior = f1$s2.prior,
       n_fitted = nrow(y), n_na_default = sum(is.na(results$default$tab$estimate)),
       n_na_f = sum(is.na(results$default$f$F)), dupcor_na = sum(is.na(dupcor$atanh.correlations)),
       contrasts_fit_na = sum(is.na(tab_c$estimate)), tab = results$default$tab)
}

# -------------------------------------------------------------- mixed models
clean <- function(x) gsub("[\r\n]+", " ", trimws(x))

run_mixed <- function(name, cfg, d, con, est) {
  t0 <- proc.time()[["elapsed"]]
  y <- d$y
  dd <- d$dd
  X1 <- model.matrix(design_formula(cfg), dd)
  p_fix <- ncol(X1)
  form <- as.formula(paste("y ~ arm * visit", if (cfg$batch) "+ batch" else "",
                           "+ (1 | subject)"))
  change <- con$change
  res <- vector("list", nrow(y))
  fres <- vector("list", nrow(y))
  fitres <- vector("list", nrow(y))
  for (i in seq_len(nrow(y))) {
    pid <- rownames(y)[i]
    o <- !is.na(y[i, ])
    df_i <- dd[o, , drop = FALSE]
    df_i$y <- y[i, o]
    n_obs <- nrow(df_i)
    n_subj <- length(unique(df_i$subject))
    n_multi <- sum(table(df_i$subject) >= 2)
    out <- data.frame(protein_id = pid, contrast = rownames(con$L), estimate = NA_real_,
                      se = NA_real_, df = NA_real_, t = NA_real_, p_value = NA_real_,
                      padj = NA_real_, singular = NA, note = "", stringsAsFactors = FALSE)
    fout <- data.frame(protein_id = pid, contrast = con$joint_name, F = NA_real_,
                       df1 = NA_real_, df2 = NA_real_, p_value = NA_real_, note = "",
                       stringsAsFactors = FALSE)
    fitout <- data.frame(protein_id = pid, sigma = NA_real_, subject_sd = NA_real_,
                         reml_criterion = NA_real_, singular = NA, n_obs = n_obs,
                         n_subjects = n_subj, note = "", stringsAsFactors = FALSE)
    note <- ""
    fit <- NULL
    if (n_obs < p_fix + 2) {
      note <- sprintf("not fitted: %d observations < %d fixed effects + 2", n_obs, p_fix)
    } else if (n_multi < 2) {
      note <- sprintf("not fitted: %d subjects with 2+ observations (< 2)", n_multi)
    } else {
      warns <- character()
      msgs <- character()
      fit <- tryCatch(
        withCallingHandlers(
          lmerTest::lmer(form, data = df_i, REML = TRUE),
          warning = function(w) {
            warns <<- c(warns, clean(conditionMessage(w)))
            invokeRestart("muffleWarning")
          },
          message = function(m) {
            msgs <<- c(msgs, clean(conditionMessage(m)))
            invokeRestart("muffleMessage")
          }),
        error = function(e) {
          note <<- paste("lmer failed:", clean(conditionMessage(e)))
          NULL
        })
      msgs <- msgs[!grepl("^boundary \\(singular\\) fit", msgs)]
      extra <- c(if (length(warns)) paste("warning:", warns), if (length(msgs)) msgs)
      if (!is.null(fit) && !inherits(fit, "lmerModLmerTest")) {
        note <- "lmerTest could not compute the Satterthwaite structure"
        fit <- NULL
      }
      note <- paste(c(if (nzchar(note)) note, extra), collapse = "; ")
    }
    if (!is.null(fit)) {
      stopifnot(isREML(fit))
      sing <- isSingular(fit)
      kept <- names(fixef(fit))
      stopifnot(all(kept %in% colnames(X1)))
      ok <- est$estimable[pid, ]
      vc <- as.data.frame(VarCorr(fit))
      fitout$sigma <- sigma(fit)
      fitout$subject_sd <- vc$sdcor[vc$grp == "subject"]
      fitout$reml_criterion <- REMLcrit(fit)
      fitout$singular <- sing
      out$singular <- sing
      if (any(ok)) {
        ct <- tryCatch(
          contest(fit, con$L[ok, kept, drop = FALSE], joint = FALSE, ddf = "Satterthwaite"),
          error = function(e) e)
        if (inherits(ct, "error")) {
          note <- paste(c(if (nzchar(note)) note,
                          paste("contest failed:", clean(conditionMessage(ct)))),
                        collapse = "; ")
        } else {
          out$estimate[ok] <- ct[["Estimate"]]
          out$se[ok] <- ct[["Std. Error"]]
          out$df[ok] <- ct[["df"]]
          out$t[ok] <- ct[["t value"]]
          out$p_value[ok] <- ct[["Pr(>|t|)"]]
        }
      }
      if (all(ok[change])) {
        jt <- tryCatch(
          contest(fit, con$L[change, kept, drop = FALSE], joint = TRUE,
                  ddf = "Satterthwaite"),
          error = function(e) e)
        if (inherits(jt, "error")) {
          fout$note <- paste("contest failed:", clean(conditionMessage(jt)))
        } else {
          fout$F <- jt[["F value"]]
          fout$df1 <- jt[["NumDF"]]
          fout$df2 <- jt[["DenDF"]]
          fout$p_value <- jt[["Pr(>F)"]]
        }
      } else {
        fout$note <- "not estimable: empty arm x visit cell"
      }
      if (any(!ok)) out$note[!ok] <- "not estimable: empty arm x visit cell"
    }
    out$note <- ifelse(nzchar(out$note), paste(c(note, "")[1], out$note, sep = "; "), note)
    out$note <- sub("^; ", "", out$note)
    if (!nzchar(fout$note)) fout$note <- note else if (nzchar(note)) {
      fout$note <- paste(note, fout$note, sep = "; ")
    }
    fitout$note <- note
    res[[i]] <- out
    fres[[i]] <- fout
    fitres[[i]] <- fitout
  }
  tab <- do.call(rbind, res)
  # contrast-major order like the limma files, then BH within contrast
  tab <- tab[order(match(tab$contrast, rownames(con$L)), match(tab$protein_id, rownames(y))), ]
  for (cn in rownames(con$L)) {
    k <- tab$contrast == cn
    tab$padj[k] <- bh(tab$p_value[k])
  }
  rownames(tab) <- NULL
  ftab <- do.call(rbind, fres)
  fittab <- do.call(rbind, fitres)
  write_table(tab, sprintf("mixed_%s.csv", name))
  write_table(ftab, sprintf("mixed_%s_F.csv", name))
  write_table(fittab, sprintf("mixed_%s_fit.csv", name))
  n_fit <- sum(!is.na(fittab$sigma))
  cat(sprintf("  mixed models done in %s: %d of %d fitted, %d singular\n", elapsed(t0),
              n_fit, nrow(y), sum(fittab$singular, na.rm = TRUE)))
  list(n_fit = n_fit, n_singular = sum(fittab$singular, na.rm = TRUE),
       notes = table(fittab$note[nzchar(fittab$note)]),
       n_na_rows = sum(is.na(tab$estimate)), n_na_f = sum(is.na(ftab$F)), tab = tab)
}

# ------------------------------------------------------------------- ANCOVA
run_ancova <- function(name, cfg, d) {
  t0 <- proc.time()[["elapsed"]]
  y <- d$y
  s <- d$samples
  base <- cfg$visits[1]
  a_t <- paste0("arm", cfg$trt)
  out <- list()
  for (v in cfg$visits[-1]) {
    subj <- intersect(s$subject_id[s$visit == base], s$subject_id[s$visit == v])
    idx_b <- match(paste(subj, base), paste(s$subject_id, s$visit))
    idx_v <- match(paste(subj, v), paste(s$subject_id, s$visit))
    arm <- factor(s$arm[idx_v], levels = c(cfg$ref, cfg$trt))
    np <- nrow(y)
    coef <- su <- sigma <- amean <- rep(NA_real_, np)
    dfr <- rep(0, np)
    n_used <- integer(np)
    why <- rep("", np)
    for (i in seq_len(np)) {
      yb <- y[i, idx_b]
      yv <- y[i, idx_v]
      ok <- !is.na(yb) & !is.na(yv)
      n_used[i] <- sum(ok)
      if (!any(ok)) {
        why[i] <- sprintf("no subject observed at both %s and %s", base, v)
        next
      }
      amean[i] <- mean(c(yv[ok], yb[ok]))
      if (length(unique(arm[ok])) < 2) {
        why[i] <- "only one arm among the subjects observed at both visits"
        next
      }
      dat <- data.frame(y_v = yv[ok], arm = arm[ok], y_b = yb[ok])
      f <- lm(y_v ~ arm + y_b, data = dat)
      if (f$df.residual < 1 || is.na(coef(f)[[a_t]])) {
        why[i] <- sprintf("df.residual %d < 1", as.integer(f$df.residual))
        next
      }
      sm <- summary(f)
      coef[i] <- coef(f)[[a_t]]
      sigma[i] <- sm$sigma
      su[i] <- sqrt(sm$cov.unscaled[a_t, a_t])
      dfr[i] <- f$df.residual
      stopifnot(abs(su[i] * sigma[i] - sm$coefficients[a_t, "Std. Error"]) <
                  1e-12 * max(1, sm$coefficients[a_t, "Std. Error"]))
    }
    cn <- sprintf("%s_vs_%s_change_%s", cfg$trt, cfg$ref, v)
    fit <- new("MArrayLM", list(
      coefficients = matrix(coef, ncol = 1, dimnames = list(rownames(y), cn)),
      stdev.unscaled = matrix(su, ncol = 1, dimnames = list(rownames(y), cn)),
      sigma = sigma, df.residual = dfr, Amean = amean))
    eb <- eBayes(fit)
    p <- eb$p.value[, 1]
    out[[v]] <- data.frame(
      protein_id = rownames(y), contrast = cn, estimate = eb$coefficients[, 1],
      se = eb$stdev.unscaled[, 1] * sqrt(eb$s2.post), t = eb$t[, 1], df = eb$df.total,
      p_value = p, padj = bh(p), n_subjects = n_used,
      s2_prior = rep_len(eb$s2.prior, np), df_prior = rep_len(eb$df.prior, np),
      sigma = sigma, df_residual = dfr, avg_log2 = amean, note = why,
      stringsAsFactors = FALSE)
    cat(sprintf("  ANCOVA %s: %d subjects with both visits, %d proteins NA, df_prior %.4f, s2_prior %.6f\n",
                v, length(subj), sum(is.na(coef)), eb$df.prior, eb$s2.prior))
  }
  tab <- do.call(rbind, out)
  rownames(tab) <- NULL
  write_table(tab, sprintf("ancova_%s.csv", name))
  cat(sprintf("  ANCOVA done in %s\n", elapsed(t0)))
  notes <- table(sub("df.residual -?[0-9]+ < 1", "df.residual < 1", tab$note[nzchar(tab$note)]))
  if (length(notes)) cat(sprintf("    %3d x %s\n", as.integer(notes), names(notes)), sep = "")
  list(na = vapply(out, function(x) sum(is.na(x$estimate)), 0),
       prior = vapply(out, function(x) c(x$df_prior[1], x$s2_prior[1]), c(0, 0)))
}

# --------------------------------------------------------------------- main
versions <- c(
  R.version.string,
  sprintf("limma %s", packageVersion("limma")),
  sprintf("statmod %s", packageVersion("statmod")),
  sprintf("lme4 %s", packageVersion("lme4")),
  sprintf("lmerTest %s", packageVersion("lmerTest")),
  sprintf("Matrix %s", packageVersion("Matrix"))
)
writeLines(versions, file.path(out_dir, "versions.txt"))
cat(versions, sep = "\n")

summary_rows <- list()
for (name in names(designs)) {
  cfg <- designs[[name]]
  t_design <- proc.time()[["elapsed"]]
  cat(sprintf("\n== %s ==\n", name))
  d <- read_design(name, cfg)
  X1 <- model.matrix(design_formula(cfg), d$dd)
  con <- make_contrasts(cfg, colnames(X1))
  est <- estimability(d$y, X1, con$L)
  cat(sprintf("  %d proteins x %d samples, %.4f missing, %d with a rank-deficient observed design\n",
              nrow(d$y), ncol(d$y), mean(is.na(d$y)), sum(!est$full_rank)))
  lim <- run_limma(name, cfg, d, con, est)
  # the mixed models do not use limma: made once, with the limma without `legacy`
  mix <- if (versioned) {
    list(n_fit = NA, n_singular = NA, n_na_rows = NA, n_na_f = NA, notes = table(character()))
  } else {
    run_mixed(name, cfg, d, con, est)
  }
  if (name == "balanced" && !versioned) {
    # complete balanced data: the GLS estimates of every contrast do not depend on the
    # correlation, so limma's and lmer's estimates must agree
    stopifnot(identical(lim$tab$protein_id, mix$tab$protein_id),
              identical(lim$tab$contrast, mix$tab$contrast),
              max(abs(lim$tab$estimate - mix$tab$estimate)) < 1e-8)
    passed(sprintf("%s: lmer estimates equal limma estimates (max |diff| %.2g)", name,
                   max(abs(lim$tab$estimate - mix$tab$estimate))))
  }
  anc <- run_ancova(name, cfg, d)
  cat(sprintf("  %s done in %s\n", name, elapsed(t_design)))
  summary_rows[[name]] <- list(limma = lim, mixed = mix, ancova = anc)
}

cat("\n== summary ==\n")
for (name in names(summary_rows)) {
  s <- summary_rows[[name]]
  cat(sprintf(paste("%s: consensus %.10f, default df_prior %.6f, s2_prior %.8f;",
                    "limma NA rows %d (F NA %d, dupcor NA %d, contrasts.fit NA rows %d);",
                    "mixed fitted %d, singular %d, NA rows %d, F NA %d\n"),
              name, s$limma$rho, s$limma$df_prior, s$limma$s2_prior, s$limma$n_na_default,
              s$limma$n_na_f, s$limma$dupcor_na, s$limma$contrasts_fit_na,
              s$mixed$n_fit, s$mixed$n_singular, s$mixed$n_na_rows, s$mixed$n_na_f))
  if (length(s$mixed$notes)) {
    cat(sprintf("  %3d x %s\n", as.integer(s$mixed$notes), names(s$mixed$notes)), sep = "")
  }
  cat("  ANCOVA NA proteins per visit:", paste(names(s$ancova$na), s$ancova$na, collapse = ", "),
      "\n")
}
cat("\nchecks passed:\n")
cat(paste(" -", checks), sep = "\n")
cat(sprintf("\ntotal time %s\n", elapsed(t_start)))
