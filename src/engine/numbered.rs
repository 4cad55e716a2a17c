//! A Parquet scan that numbers its rows where it runs (feature `ballista`), and the
//! codecs that carry it through Ballista's plans to the executors.
//!
//! Ballista 55 serialises DataFusion's Parquet scan without its virtual row-index
//! column (`file_row_index()`), so the executors cannot number rows with it. This scan
//! numbers them itself: it reads the files whole, in dataset order, and gives each
//! batch's rows their global numbers from the file's offset (the rows of the files
//! before it, from their footers: 1 for the dataset's first row, on across files, as
//! the in-memory engine numbers them). Nothing is staged: the executors read the input
//! where it is (on a cluster, at the same path on every machine, as Ballista's own
//! Parquet scans do).
//!
//! The scan is one partition, read by one task: Ballista 55 slices only the leaves it
//! knows between a stage's tasks and runs any other leaf whole in each task, so a scan
//! of several partitions would be read once per task (`super::datafusion`'s plan
//! repartitions the rows by customer after it).
//!
//! The plan reaches the scheduler as a logical plan holding [`NumberedParquet`] (a table
//! provider) and the executors as physical plans holding [`NumberedScanExec`]; both are
//! written and read by [`PatronageLogicalCodec`] and [`PatronagePhysicalCodec`], which
//! hand every other node to Ballista's own codecs. The client, the scheduler and the
//! executors must all use these codecs: the in-process cluster of `--engine ballista`
//! does (it is built from the client's session state); a cluster of Ballista's stock
//! binaries does not, so a run against `--scheduler` stages the input instead
//! (`super::staging`).

use std::any::Any;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, TableReference, plan_err};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, Extension, LogicalPlan};
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::arrow::{ProjectionMask, parquet_to_arrow_schema};
use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::io::read::ROW;

type DfResult<T> = std::result::Result<T, DataFusionError>;

/// What opens an encoded [`NumberedParquet`] or [`NumberedScanExec`], so the codecs can
/// tell ours from Ballista's nodes.
const TAG: &[u8] = b"patronage:numbered-parquet:1\n";

/// A field of the scan's schema as it travels in a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FieldSpec {
    name: String,
    /// Arrow's own spelling of the type (`DataType`'s `Display`, read back by `FromStr`).
    data_type: String,
    nullable: bool,
}

/// Everything an executor needs to run the scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ScanSpec {
    /// Absolute paths of the Parquet files, in dataset order.
    files: Vec<String>,
    /// The global number of each file's first row (1 for the dataset's first).
    first_rows: Vec<i64>,
    /// The scan's columns, the row number last.
    fields: Vec<FieldSpec>,
}

impl ScanSpec {
    /// The scan's full schema (the read columns, then the row number).
    fn schema(&self) -> DfResult<SchemaRef> {
        let fields = self
            .fields
            .iter()
            .map(|f| {
                let data_type = DataType::from_str(&f.data_type)?;
                Ok(Field::new(f.name.clone(), data_type, f.nullable))
            })
            .collect::<DfResult<Vec<Field>>>()?;
        Ok(Arc::new(Schema::new(fields)))
    }
}

/// The used `columns` of Parquet `files` with global row numbers (a column named
/// [`ROW`], `Int64`), read in one partition on whatever runs the plan.
#[derive(Debug)]
pub(super) struct NumberedParquet {
    spec: ScanSpec,
    schema: SchemaRef,
}

impl NumberedParquet {
    /// The scan of `files`, whose first rows have the 0-based global positions `offsets`,
    /// reading `columns`. The column types are the first file's; other files' columns
    /// are cast to them as they are read.
    ///
    /// # Errors
    /// [`DataFusionError`] when there are no files, the first file's footer cannot be
    /// read or a column is not in it (a later file without a column fails when read,
    /// naming the file).
    pub(super) fn new(
        files: &[PathBuf],
        offsets: &[u64],
        columns: &[String],
    ) -> DfResult<NumberedParquet> {
        let files = files
            .iter()
            .map(|f| Ok(std::path::absolute(f)?.to_string_lossy().into_owned()))
            .collect::<DfResult<Vec<String>>>()?;
        let Some(first) = files.first() else {
            return plan_err!("the dataset has no files");
        };
        let meta = footer(Path::new(first))?;
        let file_meta = meta.file_metadata();
        let arrow =
            parquet_to_arrow_schema(file_meta.schema_descr(), file_meta.key_value_metadata())?;
        let mut fields = Vec::with_capacity(columns.len() + 1);
        for c in columns {
            let Ok(field) = arrow.field_with_name(c) else {
                return plan_err!("column {c} is not in {first}");
            };
            fields.push(FieldSpec {
                name: c.clone(),
                data_type: field.data_type().to_string(),
                nullable: true,
            });
        }
        fields.push(FieldSpec {
            name: ROW.to_string(),
            data_type: DataType::Int64.to_string(),
            nullable: false,
        });
        let first_rows = offsets
            .iter()
            .map(|o| i64::try_from(*o).unwrap_or(i64::MAX).saturating_add(1))
            .collect();
        let spec = ScanSpec {
            files,
            first_rows,
            fields,
        };
        let schema = spec.schema()?;
        Ok(NumberedParquet { spec, schema })
    }
}

/// The Parquet footer of `path`.
fn footer(path: &Path) -> DfResult<datafusion::parquet::file::metadata::ParquetMetaData> {
    let file = std::fs::File::open(path)?;
    Ok(ParquetMetaDataReader::new().parse_and_finish(&file)?)
}

#[async_trait]
impl TableProvider for NumberedParquet {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(NumberedScanExec::new(
            self.spec.clone(),
            projection.cloned(),
        )?))
    }
}

/// The physical scan of [`NumberedParquet`]: one partition that reads the files in order
/// and numbers each batch's rows.
#[derive(Debug)]
pub(super) struct NumberedScanExec {
    spec: ScanSpec,
    /// The full schema's columns this scan returns (`None`: all).
    projection: Option<Vec<usize>>,
    /// The full schema.
    full: SchemaRef,
    properties: Arc<PlanProperties>,
}

/// [`NumberedScanExec`] as the codec writes it.
#[derive(Serialize, Deserialize)]
struct EncodedScan {
    spec: ScanSpec,
    projection: Option<Vec<usize>>,
}

impl NumberedScanExec {
    fn new(spec: ScanSpec, projection: Option<Vec<usize>>) -> DfResult<NumberedScanExec> {
        let full = spec.schema()?;
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full.clone(),
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(NumberedScanExec {
            spec,
            projection,
            full,
            properties: Arc::new(properties),
        })
    }
}

impl DisplayAs for NumberedScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "NumberedScanExec: files={}", self.spec.files.len())
    }
}

impl ExecutionPlan for NumberedScanExec {
    fn name(&self) -> &str {
        "NumberedScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            plan_err!("NumberedScanExec has no children")
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        if partition != 0 {
            return plan_err!("NumberedScanExec has one partition, not {}", partition + 1);
        }
        let files: Vec<(String, i64)> = self
            .spec
            .files
            .iter()
            .cloned()
            .zip(self.spec.first_rows.iter().copied())
            .collect();
        let read = Arc::new(Read {
            full: self.full.clone(),
            projection: self.projection.clone(),
            batch_rows: context.session_config().batch_size(),
        });
        let stream = futures::stream::iter(files)
            .then(move |(path, first_row)| {
                let read = read.clone();
                async move { read.open(path, first_row).await }
            })
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            stream,
        )))
    }
}

/// What the reads of the scan's files share.
struct Read {
    full: SchemaRef,
    projection: Option<Vec<usize>>,
    batch_rows: usize,
}

impl Read {
    /// The batches of the file at `path`, its rows numbered from `first_row`, shaped to
    /// the scan's schema.
    async fn open(
        self: Arc<Self>,
        path: String,
        first_row: i64,
    ) -> DfResult<impl futures::Stream<Item = DfResult<RecordBatch>> + Send + use<>> {
        let file = tokio::fs::File::open(&path).await?;
        let builder = ParquetRecordBatchStreamBuilder::new(file).await?;
        // By top-level field, not by leaf path: a column named `a.b` is one field, which
        // a dotted path would look for inside a field `a`.
        let file = builder.schema().clone();
        let mut roots = Vec::with_capacity(self.full.fields().len());
        for field in self.full.fields().iter().filter(|f| f.name() != ROW) {
            match file.index_of(field.name()) {
                Ok(i) => roots.push(i),
                Err(_) => return plan_err!("column {} is not in {path}", field.name()),
            }
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let batches = builder
            .with_projection(mask)
            .with_batch_size(self.batch_rows)
            .build()?;
        let mut next = first_row;
        Ok(batches.map(move |batch| {
            let batch = batch?;
            let first = next;
            next = next.saturating_add(i64::try_from(batch.num_rows()).unwrap_or(i64::MAX));
            self.shape(&batch, first)
        }))
    }

    /// `batch`'s columns in the scan's order and types, its rows numbered from `first`,
    /// projected as the plan asks.
    fn shape(&self, batch: &RecordBatch, first: i64) -> DfResult<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.full.fields().len());
        for field in self.full.fields() {
            if field.name() == ROW {
                let n = i64::try_from(batch.num_rows()).unwrap_or(i64::MAX);
                columns.push(Arc::new(Int64Array::from_iter_values(first..first + n)));
                continue;
            }
            // Every column was found in the file before reading it.
            let Some(column) = batch.column_by_name(field.name()) else {
                return plan_err!("column {} is missing from a Parquet batch", field.name());
            };
            if column.data_type() == field.data_type() {
                columns.push(column.clone());
            } else {
                columns.push(cast(column, field.data_type())?);
            }
        }
        let full = RecordBatch::try_new(self.full.clone(), columns)?;
        Ok(match &self.projection {
            Some(p) => full.project(p)?,
            None => full,
        })
    }
}

/// Ballista's logical codec, which also writes and reads [`NumberedParquet`].
#[derive(Debug, Default)]
pub(super) struct PatronageLogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for PatronageLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> DfResult<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        match buf.strip_prefix(TAG) {
            Some(json) => {
                let spec: ScanSpec = from_json(json)?;
                Ok(Arc::new(NumberedParquet { spec, schema }))
            }
            None => self
                .ballista
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        let any: &dyn Any = node.as_ref();
        match any.downcast_ref::<NumberedParquet>() {
            Some(scan) => to_json(&scan.spec, buf),
            None => self
                .ballista
                .try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> DfResult<()> {
        self.ballista.try_encode_file_format(buf, node)
    }
}

/// Ballista's physical codec, which also writes and reads [`NumberedScanExec`].
#[derive(Debug, Default)]
pub(super) struct PatronagePhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for PatronagePhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match buf.strip_prefix(TAG) {
            Some(json) => {
                let scan: EncodedScan = from_json(json)?;
                Ok(Arc::new(NumberedScanExec::new(scan.spec, scan.projection)?))
            }
            None => self.ballista.try_decode(buf, inputs, ctx, converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        let any: &dyn Any = node.as_ref();
        match any.downcast_ref::<NumberedScanExec>() {
            Some(scan) => to_json(
                &EncodedScan {
                    spec: scan.spec.clone(),
                    projection: scan.projection.clone(),
                },
                buf,
            ),
            None => self.ballista.try_encode(node, buf, converter),
        }
    }
}

/// `value` as [`TAG`] and JSON, appended to `buf`.
fn to_json<T: Serialize>(value: &T, buf: &mut Vec<u8>) -> DfResult<()> {
    buf.extend_from_slice(TAG);
    serde_json::to_writer(buf, value).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// The JSON after [`TAG`] read back.
fn from_json<T: for<'de> Deserialize<'de>>(json: &[u8]) -> DfResult<T> {
    serde_json::from_slice(json).map_err(|e| DataFusionError::External(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codecs_carry_the_scan_and_its_projection() {
        let spec = ScanSpec {
            files: vec!["/data/a.parquet".into(), "/data/b.parquet".into()],
            first_rows: vec![1, 120],
            fields: vec![
                FieldSpec {
                    name: "customer_id".into(),
                    data_type: DataType::Utf8View.to_string(),
                    nullable: true,
                },
                FieldSpec {
                    name: ROW.into(),
                    data_type: DataType::Int64.to_string(),
                    nullable: false,
                },
            ],
        };
        let exec = Arc::new(NumberedScanExec::new(spec.clone(), Some(vec![1])).unwrap());
        let codec = PatronagePhysicalCodec::default();
        let mut buf = Vec::new();
        let converter = datafusion_proto::physical_plan::DefaultPhysicalProtoConverter {};
        codec.try_encode(exec, &mut buf, &converter).unwrap();
        let ctx = TaskContext::default();
        let back = codec.try_decode(&buf, &[], &ctx, &converter).unwrap();
        let any: &dyn Any = back.as_ref();
        let back = any.downcast_ref::<NumberedScanExec>().unwrap();
        assert_eq!(back.spec, spec);
        assert_eq!(back.projection, Some(vec![1]));
        assert_eq!(back.schema().field(0).name(), ROW);
        assert_eq!(back.full.field(0).data_type(), &DataType::Utf8View);
    }
}

#[cfg(test)]
mod scan_tests {
    use super::*;
    use datafusion::arrow::array::{Array, StringArray};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;
    use datafusion::prelude::SessionContext;

    /// A file of `rows` rows (ids "c0", "c1", ...; a column `order.id` of 10 × the row's
    /// index in the file; an unread `note`) in row groups of `group` rows.
    fn file(dir: &Path, name: &str, rows: usize, group: usize) -> PathBuf {
        let path = dir.join(name);
        let ids: StringArray = (0..rows).map(|i| Some(format!("c{i}"))).collect();
        let orders = Int64Array::from_iter_values((0..rows as i64).map(|i| 10 * i));
        let notes: StringArray = (0..rows).map(|_| Some("unread")).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("note", DataType::Utf8, true),
            Field::new("customer_id", DataType::Utf8, true),
            Field::new("order.id", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(notes), Arc::new(ids), Arc::new(orders)],
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .build();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, Some(props))
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    }

    /// Partition `p` of `exec` run to its end on a plain DataFusion context.
    fn read_partition(exec: &NumberedScanExec, p: usize) -> DfResult<Vec<RecordBatch>> {
        let ctx = SessionContext::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let stream = exec.execute(p, ctx.task_ctx())?;
        rt.block_on(stream.try_collect())
    }

    /// Two files of several row groups: each row once, in order, with its global number;
    /// columns picked by name in the scan's order (a dotted name is one column), an
    /// unread column left out; one partition.
    #[test]
    fn every_row_is_read_once_with_its_global_number() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            file(dir.path(), "a.parquet", 23, 4),
            file(dir.path(), "b.parquet", 10, 3),
        ];
        let columns = ["customer_id".to_string(), "order.id".to_string()];
        let scan = NumberedParquet::new(&files, &[0, 23], &columns).unwrap();
        let exec = NumberedScanExec::new(scan.spec.clone(), None).unwrap();
        let mut seen: Vec<(String, i64, i64)> = Vec::new();
        let batches = read_partition(&exec, 0).unwrap();
        for b in batches {
            let ids = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let orders = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            let rows = b.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
            for i in 0..b.num_rows() {
                assert!(ids.is_valid(i));
                seen.push((ids.value(i).to_string(), orders.value(i), rows.value(i)));
            }
        }
        let expected: Vec<(String, i64, i64)> = (0..23)
            .map(|i| (format!("c{i}"), 10 * i, i + 1))
            .chain((0..10).map(|i| (format!("c{i}"), 10 * i, i + 24)))
            .collect();
        assert!(read_partition(&exec, 1).is_err());
        assert_eq!(seen, expected);
    }

    /// A later file without a read column fails when it is read, naming that file; a
    /// dataset without files is refused when the scan is made.
    #[test]
    fn a_file_without_a_column_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = file(dir.path(), "a.parquet", 5, 2);
        let other = dir.path().join("b.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
        let ids: StringArray = (0..3).map(|i| Some(format!("x{i}"))).collect();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(ids)]).unwrap();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&other).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let columns = ["customer_id".to_string()];
        let scan = NumberedParquet::new(&[good, other], &[0, 5], &columns).unwrap();
        let exec = NumberedScanExec::new(scan.spec.clone(), None).unwrap();
        match read_partition(&exec, 0) {
            Err(DataFusionError::Plan(why)) => {
                assert!(
                    why.contains("customer_id") && why.contains("b.parquet"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(NumberedParquet::new(&[], &[], &columns).is_err());
    }
}
