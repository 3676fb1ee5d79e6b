# Per-protein duplicateCorrelation in R, for comparing salivaprot's with R's protein by protein.
# Usage: Rscript benchmarks/dupcor_r.R matrix.csv samples.csv visits(comma) reference_arm out.csv
suppressPackageStartupMessages(library(limma))
args <- commandArgs(trailingOnly = TRUE)
y <- as.matrix(read.csv(args[1], row.names = 1, check.names = FALSE))
s <- read.csv(args[2], stringsAsFactors = FALSE)
s <- s[match(colnames(y), s$sample_id), ]
arm <- factor(s$arm, levels = c(args[4], setdiff(unique(s$arm), args[4])))
visit <- factor(s$visit, levels = strsplit(args[3], ",")[[1]])
design <- model.matrix(~ arm * visit)
dc <- duplicateCorrelation(y, design, block = s$subject_id)
write.csv(data.frame(protein_id = rownames(y), atanh_correlation = dc$atanh.correlations),
          args[5], row.names = FALSE)
cat(sprintf("consensus %.15f, %d proteins without a correlation\n", dc$consensus.correlation,
            sum(is.na(dc$atanh.correlations))))
