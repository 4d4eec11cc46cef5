# Score RemLogic event exports with PLMScoRe (Fulda S, R package, doi:10.5281/zenodo.3903318) in
# its non-interactive mode and write, per export, the movement table and the main indices.
#
# Usage: Rscript run_plmscore.R PLMSCORE_R_DIR OUT_DIR EXPORT.txt [EXPORT.txt ...]
#
# PLMSCORE_R_DIR is the R/ folder of a PLMScoRe checkout (not part of this repository). Every
# export is scored with the same specification: legs "LAntib1-LAntib2" / "RAntib1-RAntib2",
# LM event "PLM-LM", RemLogic sleep stages, lights off/on, the WASM 2016 respiratory window
# (-2.0 s .. +10.25 s around the event end). The arousal and respiratory event names are listed
# below.
args <- commandArgs(trailingOnly = TRUE)
src <- args[1]
out <- args[2]
files <- args[-(1:2)]
for (f in list.files(src, pattern = "[.]R$", full.names = TRUE)) source(f)

arousals <- c("AROUSAL-SPONT", "AROUSAL-APNEA", "AROUSAL-HYPOPNEA", "AROUSAL-RERA", "AROUSAL-LM",
              "AROUSAL-PLM", "AROUSAL-DESAT", "AROUSAL-SNORE", "AROUSAL-RESP")
respiratory <- c("APNEA", "APNEA-OBSTRUCTIVE", "APNEA-CENTRAL", "APNEA-MIXED", "HYPOPNEA",
                 "HYPOPNEA-OBSTRUCTIVE", "HYPOPNEA-CENTRAL", "RERA")

spec <- function(fn) {
  RLs <- RLspec()
  RLs[[1]][[1]][[1]] <- "LAntib1-LAntib2"
  RLs[[1]][[1]][[2]] <- "RAntib1-RAntib2"
  RLs[[1]][[1]][[3]] <- "PLM-LM"
  RLs[[1]][[1]][[4]] <- "PLM-LM"
  RLs[[1]][[2]][[1]] <- 1
  RLs[[1]][[2]][[2]] <- "SLEEP-S0"
  RLs[[1]][[2]][[3]] <- "SLEEP-S1"
  RLs[[1]][[2]][[4]] <- "SLEEP-S2"
  RLs[[1]][[2]][[5]] <- c("SLEEP-S3", "SLEEP-S4")
  RLs[[1]][[2]][[6]] <- "SLEEP-REM"
  RLs[[1]][[3]][[1]] <- 1
  RLs[[1]][[3]][[2]] <- arousals
  RLs[[1]][[4]][[1]] <- 1
  RLs[[1]][[4]][[2]] <- respiratory
  RLs[[1]][[5]][[1]] <- 1
  RLs[[1]][[5]][[2]] <- "LIGHTS-OFF"
  RLs[[1]][[5]][[3]] <- "LIGHTS-ON"
  RLs[[1]][[6]][[1]] <- "%Y-%m-%dT%H:%M:%OS"
  RLs[[1]][[6]][[2]] <- 6  # columns: Sleep Stage, Position, Time, Event, Duration, Location
  RLs[[1]][[6]][[3]] <- 3
  RLs[[1]][[6]][[4]] <- 4
  RLs[[1]][[6]][[5]] <- 5
  RLs[[1]][[6]][[6]] <- 6
  RLs[[1]][[6]][[7]] <- 1
  RLs[[1]][[7]][[3]] <- "PLM-LM"
  RLs[[1]][[7]][[4]] <- "PLM-LM"
  RLs[[2]][[3]] <- 1
  RLs[[2]][[4]] <- "none"
  RLs
}

pick <- function(stats, type, statistic, stage) {
  v <- stats[stats$LMtype == type & stats$Statistic == statistic, stage]
  if (length(v) != 1) stop(paste("no single value for", type, statistic, stage))
  v
}

dir.create(out, showWarnings = FALSE, recursive = TRUE)
for (fn in files) {
  res <- StartPLMScoRe(RLs = spec(fn), fn = fn, silent = 1)
  d <- res$Data
  lm <- d[!is.na(d$T2) & d$T2 %in% 10:12, ]
  movements <- data.frame(
    onset_s = sprintf("%.6f", lm$Onset), duration_s = sprintf("%.6f", lm$Dur),
    side = c("left", "right", "both")[lm$T2 - 9], is_clm = lm$nonCLM == 0,
    is_clmr = lm$rLM == 1 & lm$nonCLM == 0, in_plm_series = lm$PLM == 1,
    in_plmnr_series = !is.na(lm$PLMnr) & lm$PLMnr == 1,
    with_arousal = lm$AR == 1, stage = c("W", "N1", "N2", "N3", "R")[lm$Stage + 1]
  )
  s <- res$Stats
  indices <- data.frame(
    key = c("tib_s", "tst_s", "n_clm", "n_plm", "n_plms", "n_plmw", "n_clmr",
            "n_plmsnr", "n_plms_arousal", "plms_index", "plmnr_index"),
    value = c(pick(s, "Sleep/Wake", "duration; s", "TIB"), pick(s, "Sleep/Wake", "duration; s", "TST"),
              pick(s, "CLM", "number", "TIB"), pick(s, "PLM", "number", "TIB"),
              pick(s, "PLM", "number", "TST"), pick(s, "PLM", "number", "Wake"),
              pick(s, "CLMr", "number", "TIB"), pick(s, "PLMnr", "number", "TST"),
              pick(s, "PLMa", "number", "TST"), pick(s, "PLM", "no./hour", "TST"),
              pick(s, "PLMnr", "no./hour", "TST"))
  )
  base <- file.path(out, sub("[.]txt$", "", basename(fn)))
  write.csv(movements, paste0(base, ".plmscore_movements.csv"), row.names = FALSE, quote = FALSE)
  write.csv(indices, paste0(base, ".plmscore_indices.csv"), row.names = FALSE, quote = FALSE)
  # PLMScoRe's time zero: the later of lights off and the first scored epoch
  writeLines(format(as.POSIXct(res$RLs[[2]][[5]]), "%Y-%m-%dT%H:%M:%OS6"), paste0(base, ".plmscore_start.txt"))
}
