# R limma end to end on a log2 matrix, for benchmarks/bench_limma.py.
# Usage: Rscript benchmarks/limma_r.R matrix.csv samples.csv visits(comma) reference_arm out.csv
suppressPackageStartupMessages(library(limma))
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
y <- as.matrix(read.csv(args[1], row.names = 1, check.names = FALSE))
s <- read.csv(args[2], stringsAsFactors = FALSE)
visits <- strsplit(args[3], ",")[[1]]
ref <- args[4]
s <- s[match(colnames(y), s$sample_id), ]
arm <- factor(s$arm, levels = c(ref, setdiff(unique(s$arm), ref)))
visit <- factor(s$visit, levels = visits)
cell <- factor(paste(arm, visit, sep = "."), levels = as.vector(outer(levels(arm), visits, paste, sep = ".")))
design <- model.matrix(~ 0 + cell)
colnames(design) <- levels(cell)
t_read <- proc.time()[["elapsed"]]
dc <- duplicateCorrelation(y, design, block = s$subject_id)
t_dupcor <- proc.time()[["elapsed"]]
fit <- lmFit(y, design, block = s$subject_id, correlation = dc$consensus.correlation)
trt <- levels(arm)[2]
cm <- list()
for (v in visits[-1]) {
  cm[[sprintf("%s_vs_%s_change_%s", trt, ref, v)]] <- sprintf("(%s.%s - %s.%s) - (%s.%s - %s.%s)", trt, v, trt, visits[1], ref, v, ref, visits[1])
}
for (v in visits[-1]) cm[[sprintf("%s_change_%s", trt, v)]] <- sprintf("%s.%s - %s.%s", trt, v, trt, visits[1])
for (v in visits[-1]) cm[[sprintf("%s_change_%s", ref, v)]] <- sprintf("%s.%s - %s.%s", ref, v, ref, visits[1])
for (v in visits) cm[[sprintf("%s_vs_%s_at_%s", trt, ref, v)]] <- sprintf("%s.%s - %s.%s", trt, v, ref, v)
contr <- makeContrasts(contrasts = unlist(cm), levels = design)
colnames(contr) <- names(cm)
fit2 <- eBayes(contrasts.fit(fit, contr))
t_fit <- proc.time()[["elapsed"]]
out <- do.call(rbind, lapply(colnames(contr), function(k) {
  data.frame(protein_id = rownames(y), contrast = k, log2fc = fit2$coefficients[, k],
             stat = fit2$t[, k], pvalue = fit2$p.value[, k])
}))
write.csv(out, args[5], row.names = FALSE)
t_end <- proc.time()[["elapsed"]]
cat(sprintf("R timings: read %.2f s, duplicateCorrelation %.2f s, lmFit+contrasts+eBayes %.2f s, write %.2f s, consensus %.8f\n",
            t_read - t0, t_dupcor - t_read, t_fit - t_dupcor, t_end - t_fit, dc$consensus.correlation))
