# Shared by make_reference_design.R and make_reference_tmt.R (sourced after they set
# ref_dir): numbers as sprintf("%.17g"), NA as an empty cell, LF line ends.

fmt <- function(x) {
  if (is.numeric(x)) {
    out <- sprintf("%.17g", as.numeric(x))
    out[is.na(x)] <- ""
    out
  } else as.character(x)
}
write_table <- function(df, name) {
  cells <- lapply(df, fmt)
  con <- file(file.path(ref_dir, name), open = "wb")
  on.exit(close(con))
  writeLines(c(paste(names(df), collapse = ","), do.call(paste, c(cells, sep = ","))), con)
}
