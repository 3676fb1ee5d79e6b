# limma's duplicateCorrelation when proteins are constant: the balanced design's input
# with two constant proteins appended (20 and 20.1 in every sample; the second is not
# exactly representable). Writes limma_balanced_constant_dupcor.csv (atanh correlation
# of every protein, numbers as %.17g) and limma_balanced_constant_model.csv (the
# consensus). Run from the repository root: Rscript tests/reference/make_reference_constant.R
suppressMessages(library(limma))
ref_dir <- "tests/reference"
source(file.path(ref_dir, "reference_io.R"))
y <- as.matrix(read.csv(file.path(ref_dir, "input_balanced.csv"), row.names = 1,
                        check.names = FALSE))
samples <- read.csv(file.path(ref_dir, "samples_balanced.csv"))
y <- y[, samples$sample_id]
arm <- factor(samples$arm, levels = c("placebo", "aMSC"))
visit <- factor(samples$visit, levels = c("baseline", "month1", "month4"))
design <- model.matrix(~ arm * visit)
y <- rbind(y, CONSTANT_20 = rep(20, ncol(y)), CONSTANT_20_1 = rep(20.1, ncol(y)))
y <- y[rowSums(!is.na(y)) > 0, , drop = FALSE]
dupcor <- duplicateCorrelation(y, design, block = samples$subject_id)
write_table(data.frame(protein_id = rownames(y), atanh_correlation = dupcor$atanh.correlations),
            "limma_balanced_constant_dupcor.csv")
write_table(data.frame(key = "consensus_correlation", value = dupcor$consensus.correlation),
            "limma_balanced_constant_model.csv")
cat(sprintf("consensus %.17g; constant proteins' atanh %s\n", dupcor$consensus.correlation,
            paste(sprintf("%.3g", tail(dupcor$atanh.correlations, 2)), collapse = ", ")))
