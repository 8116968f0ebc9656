//! Reading the data set's files: optionally gzipped CSVs with named columns, and its
//! `YYYY-MM-DD HH:MM:SS[.fraction]` times (UTC).

use super::NezhaError;
use flate2::read::GzDecoder;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// `name.csv.gz` if it exists, else `name.csv`.
pub fn csv_path(directory: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.csv.gz"), format!("{stem}.csv")].into_iter().map(|name| directory.join(name)).find(|path| path.is_file())
}

/// A CSV table with its header, read whole (the files are at most a few megabytes).
pub struct Table {
    pub path: PathBuf,
    columns: HashMap<String, usize>,
    pub header: Vec<String>,
    pub rows: Vec<csv::StringRecord>,
}

impl Table {
    pub fn read(path: &Path) -> Result<Table, NezhaError> {
        let file = File::open(path).map_err(|source| NezhaError::Io { path: path.to_path_buf(), source })?;
        let reader: Box<dyn Read> = if path.extension().is_some_and(|extension| extension == "gz") {
            Box::new(GzDecoder::new(BufReader::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let csv_error = |source| NezhaError::Csv { path: path.to_path_buf(), source };
        let header: Vec<String> = csv.headers().map_err(csv_error)?.iter().map(str::to_string).collect();
        let columns = header.iter().enumerate().map(|(index, name)| (name.clone(), index)).collect();
        let rows = csv.records().collect::<Result<Vec<_>, _>>().map_err(csv_error)?;
        Ok(Table { path: path.to_path_buf(), columns, header, rows })
    }

    pub fn column(&self, name: &str) -> Result<usize, NezhaError> {
        self.columns.get(name).copied().ok_or_else(|| self.invalid(format!("no column {name:?}")))
    }

    pub fn invalid(&self, message: String) -> NezhaError {
        NezhaError::Invalid { path: self.path.clone(), message }
    }

    /// The field at `column` of `row`, naming the line and column when it is missing.
    pub fn field<'row>(&self, row: &'row csv::StringRecord, column: usize) -> Result<&'row str, NezhaError> {
        row.get(column).ok_or_else(|| {
            let line = row.position().map_or(0, |position| position.line());
            self.invalid(format!("line {line}: no value for column {:?}", self.header[column]))
        })
    }

    pub fn time_field(&self, row: &csv::StringRecord, column: usize) -> Result<i64, NezhaError> {
        let text = self.field(row, column)?;
        parse_time(text).ok_or_else(|| {
            let line = row.position().map_or(0, |position| position.line());
            self.invalid(format!("line {line}: column {:?} is not a time: {text:?}", self.header[column]))
        })
    }
}

/// Milliseconds since the epoch of `YYYY-MM-DD HH:MM:SS[.fraction]…` (anything after the
/// fraction, such as ` +0000 UTC m=+0.3`, is ignored; the data set's times are UTC).
pub fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b' ' | b'T') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut millis = 0;
    if bytes.get(19) == Some(&b'.') {
        let digits: String = text[20..].chars().take_while(char::is_ascii_digit).take(3).collect();
        millis = format!("{digits:0<3}").parse::<i64>().ok()?;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The service a pod belongs to: its name without the replica-set and pod hashes
/// (`ts-basic-service-5dc8d4f9fd-46997` → `ts-basic-service`). Pods are renamed between days;
/// services are not.
pub fn service_of_pod(pod: &str) -> &str {
    let mut parts = pod.rsplitn(3, '-');
    let (Some(_pod_hash), Some(_replica_hash), Some(service)) = (parts.next(), parts.next(), parts.next()) else {
        return pod;
    };
    service
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_and_without_fraction_and_suffix() {
        assert_eq!(parse_time("1970-01-01 00:00:01"), Some(1000));
        assert_eq!(parse_time("2022-08-22 03:53:54"), Some(1_661_140_434_000));
        assert_eq!(parse_time("2022-08-22 03:51:19.799087274 +0000 UTC m=+0.305041286"), Some(1_661_140_279_799));
        assert_eq!(parse_time("2023-01-29T08:42:22.38Z"), Some(1_674_981_742_380));
        for bad in ["", "2022-08-22", "2022/08/22 03:53:54", "2022-13-22 03:53:54", "2022-08-22 03:5x:54"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn pods_map_to_services() {
        assert_eq!(service_of_pod("ts-basic-service-5dc8d4f9fd-46997"), "ts-basic-service");
        assert_eq!(service_of_pod("frontend-579b9bff58-t2dbm"), "frontend");
        assert_eq!(service_of_pod("frontend"), "frontend");
    }
}
