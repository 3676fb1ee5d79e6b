# Reference outputs of limma's squeezeVar on residual variances whose df are all
# positive and unequal (every protein has residual df, some have missing values),
# with one variance below 1e-12 x the median. This is the branch of
# fitFDistRobustly that transforms unequal-df variances to the largest df and
# offsets tiny ones: R does that on a copy, so var.post uses the original variances.
# The eBayes references of make_reference.R do not reach it (each of their
# unequal-df designs has a protein with 0 residual df, which sends
# fitFDistRobustly through its subsetting path).
#
# Run from the repository root, with the limma to be recorded first on R_LIBS:
#   Rscript tests/reference/make_squeeze_reference.R
# writes tests/reference/squeeze_input.csv and, for limma 3.54.1,
# tests/reference/squeeze_<variant>.csv; for another limma version V,
# tests/reference/limma-V/squeeze_<variant>.csv (legacy = NULL, current limma's
# default) and tests/reference/limma-V/squeeze_<variant>_legacy.csv (legacy = TRUE),
# and tests/reference/limma-V/squeeze_<variant>_equal_df_new.csv: legacy = FALSE
# (the new estimator forced) with every df = 9.
suppressPackageStartupMessages(library(limma))
ref_dir <- file.path("tests", "reference")
stopifnot(file.exists(file.path(ref_dir, "make_squeeze_reference.R")))
version <- as.character(packageVersion("limma"))
out_dir <- if (version == "3.54.1") ref_dir else file.path(ref_dir, paste0("limma-", version))
dir.create(out_dir, showWarnings = FALSE)
fmt <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
write_csv <- function(df, path) {
  cols <- lapply(df, function(x) if (is.numeric(x)) fmt(x) else as.character(x))
  lines <- c(paste(names(df), collapse = ","), do.call(paste, c(cols, sep = ",")))
  con <- file(path, open = "wb")
  writeLines(lines, con, sep = "\n")
  close(con)
}

set.seed(20241130)
n <- 300
df <- sample(c(4, 6, 9, 12, 15, 17, 18), n, replace = TRUE)
covariate <- sort(runif(n, 4, 14))
s2_true <- 0.4 * exp(-0.08 * (covariate - 9)) * 12 / rchisq(n, 12)
var <- s2_true * rchisq(n, df) / df
var[c(17, 230)] <- var[c(17, 230)] * 25    # two outlying variances
var[101] <- median(var) * 1e-14            # offset inside fitFDistRobustly
input <- data.frame(id = sprintf("g%03d", seq_len(n)), var = var, df = df, covariate = covariate)
write_csv(input, file.path(ref_dir, "squeeze_input.csv"))
input <- read.csv(file.path(ref_dir, "squeeze_input.csv"))
stopifnot(identical(fmt(input$var), fmt(var)))

variants <- list(default = c(FALSE, FALSE), trend = c(TRUE, FALSE), robust = c(FALSE, TRUE),
                 trend_robust = c(TRUE, TRUE))
has_legacy <- "legacy" %in% names(formals(squeezeVar))
for (v in names(variants)) {
  trend <- variants[[v]][1]
  robust <- variants[[v]][2]
  cov <- if (trend) input$covariate else NULL
  settings <- if (has_legacy) list("", "_legacy") else list("")
  for (suffix in settings) {
    sq <- if (!has_legacy) {
      squeezeVar(input$var, input$df, covariate = cov, robust = robust)
    } else if (suffix == "") {
      squeezeVar(input$var, input$df, covariate = cov, robust = robust, legacy = NULL)
    } else {
      squeezeVar(input$var, input$df, covariate = cov, robust = robust, legacy = TRUE)
    }
    out <- data.frame(id = input$id, var_prior = rep_len(sq$var.prior, n),
                      df_prior = rep_len(sq$df.prior, n), var_post = sq$var.post)
    write_csv(out, file.path(out_dir, sprintf("squeeze_%s%s.csv", v, suffix)))
    cat(sprintf("limma %s squeezeVar %s%s: df_prior %s, var_prior median %.6g\n", version, v,
                suffix, paste(signif(range(sq$df.prior), 8), collapse = " to "),
                median(sq$var.prior)))
  }
  if (has_legacy) {
    sq <- squeezeVar(input$var, rep(9, n), covariate = cov, robust = robust, legacy = FALSE)
    out <- data.frame(id = input$id, var_prior = rep_len(sq$var.prior, n),
                      df_prior = rep_len(sq$df.prior, n), var_post = sq$var.post)
    write_csv(out, file.path(out_dir, sprintf("squeeze_%s_equal_df_new.csv", v)))
    cat(sprintf("limma %s squeezeVar %s, df = 9, legacy = FALSE: df_prior %s\n", version, v,
                paste(signif(range(sq$df.prior), 8), collapse = " to ")))
  }
}
